import { describe, expect, it } from 'vitest';
import { fastEventInput } from '../src/ingest/fast-check';
import { EventInput } from '../src/shared/events';

const long = (n: number) => 'x'.repeat(n);
// Valid and invalid inputs around every rule: the fast path either defers (null) or agrees with zod exactly.
const samples: unknown[] = [
  { type: 'a' }, { type: ' a' }, { type: 'a ' }, { type: '' }, { type: long(64) }, { type: long(65) }, { type: 'a\u0001' }, { type: 'ü ok' },
  { type: 'a', id: 'ok_-1' }, { type: 'a', id: 'bad id' }, { type: 'a', id: long(65) }, { type: 'a', id: 5 },
  { type: 'a', timestamp: 1_700_000_000_000.7 }, { type: 'a', timestamp: '2024-01-02T03:04:05Z' }, { type: 'a', timestamp: 'nope' }, { type: 'a', timestamp: 5 }, { type: 'a', timestamp: null },
  { type: 'a', userId: '' }, { type: 'a', userId: long(128) }, { type: 'a', userId: long(129) }, { type: 'a', sessionId: 's' }, { type: 'a', error: long(129) },
  { type: 'a', room: 'r:1@x.y' }, { type: 'a', room: 'r 1' },
  { type: 'a', durationMs: 1.5 }, { type: 'a', durationMs: -1 }, { type: 'a', value: -3.2 }, { type: 'a', value: '1' },
  { type: 'a', bytesIn: 3 }, { type: 'a', bytesIn: 3.5 }, { type: 'a', bytesOut: -1 }, { type: 'a', bytesOut: 2 ** 60 },
  // The numeric bounds of API.md, at and just past each one.
  { type: 'a', durationMs: 0 }, { type: 'a', durationMs: 1e10 }, { type: 'a', durationMs: 1e10 + 0.001 }, { type: 'a', durationMs: -0.001 }, { type: 'a', durationMs: 1e308 },
  { type: 'a', bytesIn: 2 ** 53 - 1 }, { type: 'a', bytesIn: 2 ** 53 }, { type: 'a', bytesOut: 0 },
  { type: 'a', value: 1e15 }, { type: 'a', value: -1e15 }, { type: 'a', value: 1e15 + 1 }, { type: 'a', value: -1e15 - 1 }, { type: 'a', value: 1e308 },
  { type: 'a', gauges: { cpu: 0.73, 'queue.depth': 12, 'a:b-c_d': -1e15 } }, { type: 'a', gauges: {} }, { type: 'a', gauges: { cpu: 1e15 + 1 } },
  { type: 'a', gauges: { cpu: '1' } }, { type: 'a', gauges: { cpu: null } }, { type: 'a', gauges: { '1cpu': 1 } }, { type: 'a', gauges: { '': 1 } },
  { type: 'a', gauges: { ['g'.repeat(64)]: 1 } }, { type: 'a', gauges: { ['g'.repeat(65)]: 1 } }, { type: 'a', gauges: JSON.parse('{"__proto__": 1}') },
  { type: 'a', gauges: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`g${i}`, i])) },
  { type: 'a', gauges: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, i])) }, { type: 'a', gauges: [1] }, { type: 'a', gauges: null },
  { type: 'a', properties: { k: 'v', n: 1, b: true, z: null } }, { type: 'a', properties: { k: long(1001) } }, { type: 'a', properties: { '': 1 } },
  { type: 'a', properties: { k: [1] } }, { type: 'a', properties: { k: { x: 1 } } }, { type: 'a', properties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) },
  { type: 'a', properties: JSON.parse('{"__proto__": 1}') }, { type: 'a', properties: [] },
  { type: 'a', context: { url: 'https://x', userAgent: 'UA' } }, { type: 'a', context: { nope: 'x' } }, { type: 'a', context: { url: 1 } }, { type: 'a', context: { url: long(2049) } },
  { type: 'a', extra: 1 }, { id: 'x' }, null, [], 'a', 1,
];

describe('the hand-written check of plain events', () => {
  it('accepts only what zod accepts, with the same result, and defers everything unusual', () => {
    let fast = 0;
    for (const sample of samples) {
      const quick = fastEventInput(sample);
      const zod = EventInput.safeParse(sample);
      if (quick === null) continue;
      fast++;
      expect(zod.success, JSON.stringify(sample)).toBe(true);
      expect(quick, JSON.stringify(sample)).toEqual(zod.data);
    }
    expect(fast).toBeGreaterThanOrEqual(24);
    // The shape clients send most takes the fast path.
    expect(fastEventInput({ id: 'e1', type: 'page.view', userId: 'u1', durationMs: 12, properties: { plan: 'pro' }, context: { url: 'https://x' } })).not.toBeNull();
  });

  it('rejects every number outside its bound, naming the field, in zod as on the fast path', () => {
    const outside: Array<[Record<string, unknown>, string]> = [
      [{ durationMs: 1e10 + 0.001 }, 'durationMs'], [{ durationMs: -0.001 }, 'durationMs'], [{ bytesIn: 2 ** 53 }, 'bytesIn'], [{ bytesOut: -1 }, 'bytesOut'],
      [{ bytesIn: 1.5 }, 'bytesIn'], [{ value: 1e15 + 1 }, 'value'], [{ value: -1e15 - 1 }, 'value'], [{ gauges: { cpu: 1e15 + 1 } }, 'gauges.cpu'],
      [{ gauges: { '1cpu': 1 } }, 'gauges.1cpu'], [{ gauges: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, i])) }, 'gauges'],
    ];
    for (const [fields, path] of outside) {
      const sample = { type: 'a', ...fields };
      expect(fastEventInput(sample), JSON.stringify(sample)).toBeNull();
      const zod = EventInput.safeParse(sample);
      expect(zod.success, JSON.stringify(sample)).toBe(false);
      expect(zod.error!.issues.map((i) => i.path.join('.')), JSON.stringify(sample)).toContain(path);
    }
  });
});
