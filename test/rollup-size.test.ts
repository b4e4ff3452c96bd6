import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { aggregate, mergeStoredSketches, rollupStatements } from '../src/history/rollups';
import { decodeDurations, encodeDurations, HyperLogLog, mergeEncodedDurations, newDurations, quantile } from '../src/history/sketches';
import { busyHour } from './busy-hour';
import { createWorkspace } from './helpers';
import { legacyEncodeDurations, legacyEncodeHll } from './legacy-sketches';

const HOUR = 3_600_000;

/** A rollup row as the drain binds it, with its sketches encoded by `hll` / `dd`. */
function rowText(r: ReturnType<typeof aggregate>[number], hll: (h: HyperLogLog) => string, dd: (s: typeof r.agg.durations) => string | null): string {
  const a = r.agg;
  return JSON.stringify([r.grain, r.bucket, r.type, r.dim, r.key, a.events, a.errors, a.bytesIn, a.bytesOut, a.value, a.durationCount, a.durationSum,
    a.users.isEmpty() ? null : hll(a.users), a.sessions.isEmpty() ? null : hll(a.sessions), dd(a.durations)]);
}

const users = (from: number, to: number) => {
  const h = new HyperLogLog();
  for (let i = from; i < to; i++) h.add(`u${i}`);
  return h;
};
const within = (est: number, exact: number, bound: number) => Math.abs(est - exact) / exact <= bound;

describe('rollup sketches sized to what they hold', () => {
  it('a busy hour (100,000 events, 20,000 users) writes under a third of the old hour-rollup bytes', () => {
    const start = Math.floor(Date.UTC(2026, 10, 2, 14) / HOUR) * HOUR;
    const rows = aggregate(busyHour(start), 'UTC').filter((r) => r.grain === 'hour');
    let before = 0;
    let after = 0;
    for (const r of rows) {
      before += rowText(r, legacyEncodeHll, legacyEncodeDurations).length;
      after += rowText(r, (h) => h.encode(), encodeDurations).length;
    }
    console.log(`busy hour: ${rows.length} hour rollup rows, ${(before / 1e6).toFixed(2)} MB before, ${(after / 1e6).toFixed(2)} MB after (${(before / after).toFixed(1)}x smaller)`);
    // Lossless Rice coding sits near the entropy of the registers; base64 text adds a third (sketch-codec.ts).
    expect(after).toBeLessThanOrEqual(before / 3);
  }, 120_000);

  it('sparse and dense sketches round-trip and merge with old encodings, users within 2%', () => {
    for (const n of [1, 40, 900, 3000, 12_000, 80_000]) {
      const a = users(0, Math.ceil(n * 0.7));
      const b = users(Math.floor(n * 0.3), n);
      const enc = a.encode();
      if (n <= 3000 || n >= 80_000) expect(enc[0]).toBe(n <= 3000 ? 'P' : 'D');
      expect(HyperLogLog.decode(enc).encode()).toBe(enc);
      expect(HyperLogLog.decode(enc).estimate()).toBe(a.estimate());
      // Old + new, in either order, straight or decoded: the same registers as merging in memory.
      const exact = new HyperLogLog().merge(a).merge(b);
      for (const merged of [
        HyperLogLog.decode(legacyEncodeHll(a)).mergeEncoded(b.encode()),
        HyperLogLog.decode(b.encode()).merge(HyperLogLog.decode(legacyEncodeHll(a))),
        new HyperLogLog().mergeEncoded(a.encode()).mergeEncoded(legacyEncodeHll(b)),
      ]) {
        expect(merged.encode()).toBe(exact.encode());
        expect(within(merged.estimate(), n, 0.02), `n=${n} est=${merged.estimate()}`).toBe(true);
      }
      // New encodings are smaller than old ones, sparse or dense.
      if (n >= 40) expect(enc.length).toBeLessThan(legacyEncodeHll(a).length);
    }
  });

  it('duration sketches: old and new encodings merge, percentiles within 1%', () => {
    const values: number[] = [];
    const parts = [newDurations(), newDurations(), newDurations()];
    for (let i = 0; i < 20_000; i++) {
      const v = i % 50 === 0 ? 0 : Math.exp(((i * 7919) % 1000) / 100) / 2;
      values.push(v);
      parts[i % 3].accept(v);
    }
    const merged = decodeDurations(legacyEncodeDurations(parts[0]));
    mergeEncodedDurations(merged, encodeDurations(parts[1]));
    mergeEncodedDurations(merged, legacyEncodeDurations(parts[2]));
    values.sort((x, y) => x - y);
    expect(merged.count).toBe(values.length);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.floor(q * (values.length - 1))];
      expect(Math.abs(quantile(merged, q)! - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    expect(encodeDurations(decodeDurations(encodeDurations(merged)))).toBe(encodeDurations(merged));
    expect(encodeDurations(merged)!.length).toBeLessThan(legacyEncodeDurations(merged)!.length);
    // A truncated or foreign text is an empty sketch, never a thrown report.
    expect(() => decodeDurations('B0,1,1,1,1|0|!!!')).not.toThrow();
    expect(HyperLogLog.decode('Pnot base64!').isEmpty()).toBe(true);
  });

  it('a drain merges into a stored row of the old encoding (real D1)', async () => {
    const ws = await createWorkspace('sketch-mix');
    const start = Math.floor(Date.UTC(2026, 10, 3, 9) / HOUR) * HOUR;
    const events = busyHour(start, 6000, 3000);
    const [first, second] = [events.slice(0, 3000), events.slice(3000)];
    // The first half as an existing installation stored it.
    const old = aggregate(first, 'UTC').filter((r) => r.grain === 'hour' && r.dim === '' && r.type === '');
    for (const r of old) {
      await env.DB.prepare(`INSERT INTO rollups (workspace_id, grain, bucket, type, dim, key, events, errors, bytes_in, bytes_out, value,
        duration_count, duration_sum, users, sessions, durations) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
        .bind(ws.id, r.grain, r.bucket, r.type, r.dim, r.key, r.agg.events, r.agg.errors, r.agg.bytesIn, r.agg.bytesOut, r.agg.value,
          r.agg.durationCount, r.agg.durationSum, legacyEncodeHll(r.agg.users), legacyEncodeHll(r.agg.sessions), legacyEncodeDurations(r.agg.durations)).run();
    }
    const rows = aggregate(second, 'UTC').filter((r) => r.grain === 'hour' && r.dim === '' && r.type === '');
    await mergeStoredSketches(env.DB, ws.id, rows);
    await env.DB.batch(rollupStatements(env.DB, { id: ws.id, slug: ws.slug, timezone: 'UTC' }, rows));
    const stored = await env.DB.prepare(`SELECT events, users, durations FROM rollups WHERE workspace_id = ? AND grain = 'hour' AND dim = '' AND type = ''`)
      .bind(ws.id).first<{ events: number; users: string; durations: string }>();
    expect(stored!.events).toBe(6000);
    expect(stored!.users[0]).toMatch(/[PD]/);
    expect(stored!.durations[0]).toBe('B');
    const exactUsers = new Set(events.map((e) => e.userId)).size;
    expect(within(HyperLogLog.decode(stored!.users).estimate(), exactUsers, 0.02)).toBe(true);
    expect(decodeDurations(stored!.durations).count).toBe(events.filter((e) => e.durationMs !== null).length);
  });
});
