import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../src/ingest/types';
import { planSegments, rollupFloors } from '../src/history/reports/plan';
import { applyRetention } from '../src/history/retention';
import { aggregate, rollupStatements } from '../src/history/rollups';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { expectWithin, rng, sql } from './history-dataset';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** 100 days of events written straight into rollups (as drains would), UTC. */
function history(now: number): NormalizedEvent[] {
  const r = rng(11);
  return Array.from({ length: 6000 }, (_, i) => {
    const ts = now - Math.floor(60_000 + r() * 100 * DAY);
    return {
      id: `h-${i}`, type: ['a', 'b', 'c'][i % 3], ts, receivedAt: ts, userId: `u${Math.floor(r() * 400)}`, sessionId: null,
      room: i % 4 ? 'r1' : 'r2', durationMs: null, bytesIn: null, bytesOut: null, error: i % 13 ? null : 'boom', value: null,
      properties: {}, context: { country: ['DE', 'FR', 'US'][i % 3] },
    };
  });
}

async function get(ws: TestWorkspace, path: string) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}`, { token: ws.keys.read });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

describe('hour rollups kept 35 days, day rollups after', () => {
  it('the planner never plans hour buckets older than the hour floor', () => {
    const now = Date.UTC(2026, 10, 30, 10, 17);
    const floors = rollupFloors(now);
    for (const [from, to, grain] of [
      [now - 90 * DAY - 7 * 60_000, now, 'day'],
      [now - 50 * DAY, now - 20 * DAY + 5 * 60_000, 'hour'],
      [now - 40 * DAY, now - 36 * DAY, 'hour'],
      [now - 3 * DAY - 90_000, now, 'minute'],
    ] as const) {
      const segments = planSegments(from, to, grain, 'Europe/Berlin', floors);
      // Contiguous and covering [from, to).
      expect(segments[0].from).toBe(from);
      expect(segments.at(-1)!.to).toBe(to);
      segments.slice(1).forEach((s, i) => expect(s.from).toBe(segments[i].to));
      for (const s of segments) {
        if (s.grain === 'hour') expect(s.from).toBeGreaterThanOrEqual(floors.hour);
        if (s.grain === 'minute') expect(s.from).toBeGreaterThanOrEqual(floors.minute);
      }
    }
    // Hour points older than the floor are raw events; newer ones hour rollups.
    const old = planSegments(now - 40 * DAY, now - 30 * DAY, 'hour', 'UTC', floors);
    expect(old.map((s) => s.grain)).toEqual(['raw', 'hour', 'raw']); // the last: the sub-hour edge, minutes long gone
    expect(old[0].to).toBe(Math.ceil(floors.hour / HOUR) * HOUR);
  });

  it('the cron deletes hour rollups older than 35 days (resumable, per workspace); a 90-day report equals brute force over the same events', async () => {
    const now = Date.now();
    const ws = await createWorkspace('hour-ret');
    const other = await createWorkspace('hour-ret-keep');
    const events = history(now);
    const rows = aggregate(events, 'UTC');
    for (const w of [ws, other]) await env.DB.batch(rollupStatements(env.DB, { id: w.id, slug: w.slug, timezone: 'UTC' }, rows));
    const count = (id: string, grain: string, op: '<' | '>=') =>
      sql<{ n: number }>(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND grain = ? AND bucket ${op} ?`, id, grain, now - LIMITS.hourRollupDays * DAY).then((r) => r[0].n);
    const oldHours = await count(ws.id, 'hour', '<');
    const recentHours = await count(ws.id, 'hour', '>=');
    const days = await sql<{ n: number }>(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day'`, ws.id);
    expect(oldHours).toBeGreaterThan(1000);

    const from = Math.floor((now - 90 * DAY) / DAY) * DAY;
    const to = Math.floor(now / DAY) * DAY;
    const q = `from=${from}&to=${to}`;
    const reports = async () => ({
      summary: await get(ws, `stats/summary?${q}`),
      days: await get(ws, `stats/timeseries?${q}&granularity=day&metrics=events,users,errors`),
      byCountry: await get(ws, `stats/breakdown?${q}&by=country`),
    });
    const before = await reports();

    // Only the oldest part this run (a budget too small for the rest), then the rest: chunked and resumable.
    const partial = await applyRetention(env.DB, now, -1);
    expect(partial.complete).toBe(false);
    const result = await applyRetention(env.DB, now);
    expect(result.complete).toBe(true);
    expect(result.hourRollups + partial.hourRollups).toBeGreaterThanOrEqual(2 * oldHours);
    expect(await count(ws.id, 'hour', '<')).toBe(0);
    expect(await count(other.id, 'hour', '<')).toBe(0);
    expect(await count(ws.id, 'hour', '>=')).toBe(recentHours);
    expect(await sql(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day'`, ws.id)).toEqual(days);

    const after = await reports();
    expect(after).toEqual(before);
    expect(after.days.points).toHaveLength(90);
    // Brute force over the events of the range.
    const inRange = events.filter((e) => e.ts >= from && e.ts < to);
    expect(after.summary.events).toBe(inRange.length);
    expect(after.summary.errors).toBe(inRange.filter((e) => e.error).length);
    expectWithin(after.summary.users, new Set(inRange.map((e) => e.userId)).size, 0.02, 'users');
    for (const p of after.days.points) {
      const t = Date.parse(p.t);
      expect(p.events, p.t).toBe(inRange.filter((e) => e.ts >= t && e.ts < t + DAY).length);
    }
    for (const row of after.byCountry.rows) expect(row.events).toBe(inRange.filter((e) => e.context.country === row.key).length);
  });
});
