import { describe, expect, it } from 'vitest';
import { call, createWorkspace, flush } from './helpers';

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [
  '', ' ', 'x'.repeat(65), 'x'.repeat(2000), '\u0000', '\ud800', '😀', 'Ünïcødé', '<script>', '__proto__', 'constructor',
  0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, null, true, false, [], {}, [1, 2], { a: { b: 1 } },
  '2026-11-23T10:00:00Z', '2099-01-01T00:00:00Z', '1999-01-01', 'not a date', 1763892000000, 9e15,
];
const FIELDS = ['id', 'type', 'timestamp', 'userId', 'sessionId', 'room', 'durationMs', 'bytesIn', 'bytesOut', 'error', 'value', 'properties', 'context', 'extra'];

function randomEvent(next: () => number, i: number): Record<string, unknown> {
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const event: Record<string, unknown> = { id: `fz-${i}`, type: 'fuzz.event' };
  const n = Math.floor(next() * 4);
  for (let k = 0; k < n; k++) {
    const field = pick(FIELDS);
    event[field] = field === 'properties' || field === 'context' ? { [String(pick(WEIRD))]: pick(WEIRD) } : pick(WEIRD);
  }
  return event;
}

describe('client input never causes a 5xx', () => {
  it('answers 80 fuzzed requests (400 events) with 2xx or 4xx, and a later drain still succeeds', async () => {
    const ws = await createWorkspace('fuzz');
    const next = rng(20261123);
    const statuses = new Map<number, number>();
    for (let r = 0; r < 80; r++) {
      const batch = Array.from({ length: 5 }, (_, j) => randomEvent(next, r * 5 + j));
      const single = next() < 0.3;
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: single ? batch[0] : { events: batch } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `request ${r}: ${res.text}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.json?.error?.code, res.text).toMatch(/^[a-z_]+$/);
    }
    // Both outcomes occur, so the fuzz reaches the validators and the hub alike.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(await flush(ws)).toBe(0);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000`, { token: ws.keys.read });
    expect(read.status).toBe(200);
    const summary = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=90d`, { token: ws.keys.read });
    expect(summary.status).toBe(200);
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(live.status).toBe(200);
  });
});
