import { describe, expect, it } from 'vitest';
import { Agg } from '../src/history/agg';
import { aggregate } from '../src/history/rollups';
import { decodeDurations, encodeDurations } from '../src/history/sketches';
import { normalizeEvents } from '../src/ingest/normalize';
import { LiveState } from '../src/live/stats';
import { EventInput } from '../src/shared/events';
import { LIMITS } from '../src/shared/limits';
import { rng } from './history-dataset';

/** Accepted numbers, weighted to the edges: each bound, just inside it, near 0, and ordinary values. */
const DURATIONS = [0, 5e-324, 1e-300, 1e-4, 0.5, 120, 9_999_999_999.999, LIMITS.durationMsMax];
const BYTES = [0, 1, 512, 2 ** 31, 2 ** 53 - 2, LIMITS.bytesMax];
const VALUES = [0, 3, -3.5, 1e-300, -1e15, 1e15, 999_999_999_999_999.9, -5e-324];

function extremeEvents(seed: number, n: number) {
  const next = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const now = Date.now();
  const inputs = Array.from({ length: n }, (_, i) => {
    const e: Record<string, unknown> = { id: `b${seed}-${i}`, type: pick(['a', 'b']), userId: `u${i % 13}`, sessionId: `s${i % 5}` };
    if (next() < 0.8) e.durationMs = pick(DURATIONS);
    if (next() < 0.8) e.bytesIn = pick(BYTES);
    if (next() < 0.8) e.bytesOut = pick(BYTES);
    if (next() < 0.8) e.value = pick(VALUES);
    if (next() < 0.3) e.gauges = { cpu: pick(VALUES), 'queue.depth': pick(VALUES) };
    if (next() < 0.2) e.error = 'x';
    return EventInput.parse(e); // each one is accepted at the door
  });
  const out = normalizeEvents(inputs, { now }, true);
  if (!out.ok) throw new Error(out.message);
  return out.value;
}

function expectFinite(label: string, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'number') expect(Number.isFinite(v), `${label}.${k} = ${v}`).toBe(true);
    else if (v && typeof v === 'object' && !Array.isArray(v)) expectFinite(`${label}.${k}`, v as Record<string, unknown>);
  }
}

describe('accepted values never make a sum, sketch or average non-finite', () => {
  it('rollup rows of 10 drains of 5,000 events at and near every bound, merged as a report merges them, stay finite and small', () => {
    const total = new Agg();
    let maxBins = 0;
    for (let seed = 1; seed <= 10; seed++) {
      for (const row of aggregate(extremeEvents(seed, 5000), 'UTC')) {
        // Through the stored form, as reports read it.
        const stored = row.agg.toRow();
        expectFinite(`seed ${seed}`, { ...stored, users: 0, sessions: 0, durations: 0 });
        const back = Agg.fromRow(stored);
        total.merge(back);
        maxBins = Math.max(maxBins, (stored.durations ?? '').split('|')[2]?.split(',').length ?? 0);
      }
    }
    expect(total.bytesIn).toBeGreaterThan(2 ** 63); // the sums really are past SQLite's integers
    expectFinite('total', { events: total.events, bytesIn: total.bytesIn, bytesOut: total.bytesOut, value: total.value, durationSum: total.durationSum, ...total.durationStats() });
    for (const q of [0, 0.5, 0.99, 1]) expect(Number.isFinite(total.durations.getValueAtQuantile(q))).toBe(true);
    expect(total.durationStats().p99! / LIMITS.durationMsMax).toBeLessThan(1.02);
    // Durations below 1 µs count as 0, so a sketch spans 1e-3 … 1e10 ms at most: ~1,500 bins, not 35,000.
    expect(maxBins).toBeLessThan(1600);
    const text = encodeDurations(total.durations)!;
    expect(decodeDurations(text).count).toBe(total.durationCount);
  });

  it('the live view of such traffic answers finite numbers', () => {
    const live = new LiveState('UTC');
    for (let seed = 100; seed < 104; seed++) live.add(extremeEvents(seed, 5000), Date.now());
    const snap = live.snapshot(Date.now(), { connections: 0, rooms: [] });
    expectFinite('live', snap as unknown as Record<string, unknown>);
    expect(snap.bandwidth.bytesInPerSecond).toBeGreaterThan(0);
    expect(snap.latencyMs.p99).not.toBeNull();
    // And after a restart from its stored form.
    const again = LiveState.fromJSON(JSON.parse(JSON.stringify(live.toJSON())), 'UTC').snapshot(Date.now(), { connections: 0, rooms: [] });
    expectFinite('live restored', again as unknown as Record<string, unknown>);
    expect(again.latencyMs).toEqual(snap.latencyMs);
  });
});
