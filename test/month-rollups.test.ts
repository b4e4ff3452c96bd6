import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../src/ingest/types';
import { mergeOldDayRollups } from '../src/history/month-rollups';
import { monthFloor, planSegments, rollupFloors } from '../src/history/reports/plan';
import { aggregate, rollupStatements } from '../src/history/rollups';
import { bucketStart, nextBucket } from '../src/history/time';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { expectWithin, rng, sql } from './history-dataset';

const DAY = 86_400_000;
const TZ = 'Europe/Berlin';

/** 20 months of events written straight into rollups (as drains would), in Berlin time. */
function history(now: number): NormalizedEvent[] {
  const r = rng(23);
  return Array.from({ length: 8000 }, (_, i) => {
    const ts = now - Math.floor(3_600_000 + r() * 600 * DAY);
    return {
      id: `m-${i}`, type: ['a', 'b', 'c'][i % 3], ts, receivedAt: ts, userId: `u${Math.floor(r() * 500)}`, sessionId: null,
      room: i % 4 ? 'r1' : 'r2', durationMs: 10 + (i % 50), bytesIn: null, bytesOut: null, error: i % 11 ? null : 'boom', value: null,
      properties: {}, context: { country: ['DE', 'FR', 'US'][i % 3] },
    };
  });
}

async function get(ws: TestWorkspace, path: string) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}`, { token: ws.keys.read });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

const countRows = (id: string, grain: string, op: '<' | '>=', at: number) =>
  sql<{ n: number }>(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND grain = ? AND bucket ${op} ?`, id, grain, at).then((r) => r[0].n);

describe('day rollups kept ~13 months, then merged into month rows', () => {
  it('the planner reads whole local months before the day floor, and never day buckets there', () => {
    const now = Date.UTC(2026, 10, 30, 10, 17);
    const floors = rollupFloors(now, TZ);
    expect(floors.day).toBe(bucketStart(now - LIMITS.dayRollupDays * DAY, 'month', TZ));
    for (const [from, to] of [[now - 600 * DAY + 12_345, now], [now - 500 * DAY, now - 450 * DAY], [now - 420 * DAY, now - 300 * DAY]]) {
      const segments = planSegments(from, to, 'month', TZ, floors);
      expect(segments[0].from).toBe(from);
      expect(segments.at(-1)!.to).toBe(to);
      segments.slice(1).forEach((s, i) => expect(s.from).toBe(segments[i].to));
      for (const s of segments) {
        if (s.grain === 'month') {
          expect(s.to).toBeLessThanOrEqual(floors.day!);
          expect(bucketStart(s.from, 'month', TZ)).toBe(s.from);
          expect(bucketStart(s.to, 'month', TZ)).toBe(s.to);
        }
        if (s.grain === 'day') expect(s.from).toBeGreaterThanOrEqual(floors.day!);
      }
    }
    // Day points older than the floor come from raw events (month rows cannot be split into days).
    const days = planSegments(now - 500 * DAY, now - 450 * DAY, 'day', TZ, floors);
    expect(days.map((s) => s.grain)).toEqual(['raw']);
    // Without a day floor (gauge rollups keep their days), no month segment is planned.
    expect(planSegments(now - 600 * DAY, now, 'day', TZ, rollupFloors(now)).some((s) => (s.grain as string) === 'month')).toBe(false);
  });

  it('the cron merges old day rows into month rows step by step; every report answers the same before, during and after', async () => {
    const now = Date.now();
    const ws = await createWorkspace('month-roll', { timezone: TZ });
    const events = history(now);
    const rows = aggregate(events, TZ);
    await env.DB.batch(rollupStatements(env.DB, { id: ws.id, slug: ws.slug, timezone: TZ }, rows));
    const floor = monthFloor(now, TZ);
    const oldDays = await countRows(ws.id, 'day', '<', floor);
    const recentDays = await countRows(ws.id, 'day', '>=', floor);
    expect(oldDays).toBeGreaterThan(500);

    // About 19 whole local months up to the current one.
    const from = bucketStart(now - 590 * DAY, 'month', TZ);
    const to = bucketStart(now, 'month', TZ);
    const q = `from=${from}&to=${to}`;
    const reports = async () => ({
      summary: await get(ws, `stats/summary?${q}`),
      months: await get(ws, `stats/timeseries?${q}&granularity=month&metrics=events,users,errors,durationP95`),
      byCountry: await get(ws, `stats/breakdown?${q}&by=country`),
      byType: await get(ws, `stats/breakdown?${q}&by=type`),
      roomB: await get(ws, `stats/summary?${q}&room=r2&type=b`),
    });
    const before = await reports();

    // A few small steps (a month half merged, one day of it split across steps), then the rest.
    const partial = await mergeOldDayRollups(env.DB, now, { chunk: 37, steps: 5 });
    expect(partial).toMatchObject({ dayRows: 5 * 37, complete: false });
    expect(await reports()).toEqual(before);
    const rest = await mergeOldDayRollups(env.DB, now);
    expect(rest.complete).toBe(true);
    expect(partial.dayRows + rest.dayRows).toBe(oldDays);
    expect(await countRows(ws.id, 'day', '<', floor)).toBe(0);
    expect(await countRows(ws.id, 'day', '>=', floor)).toBe(recentDays);
    const months = await sql<{ bucket: number }>(`SELECT DISTINCT bucket FROM rollups WHERE workspace_id = ? AND grain = 'month' ORDER BY bucket`, ws.id);
    for (const m of months) expect(bucketStart(m.bucket, 'month', TZ)).toBe(m.bucket);
    expect(months.at(-1)!.bucket).toBeLessThan(floor);
    // Month rows: one per (type, dimension, key) a month had, not one per day.
    expect(await countRows(ws.id, 'month', '<', floor)).toBeLessThan(oldDays / 10);

    const after = await reports();
    expect(after).toEqual(before);
    // Brute force over the events of the range.
    const inRange = events.filter((e) => e.ts >= from && e.ts < to);
    expect(after.summary.events).toBe(inRange.length);
    expect(after.summary.errors).toBe(inRange.filter((e) => e.error).length);
    expectWithin(after.summary.users, new Set(inRange.map((e) => e.userId)).size, 0.02, 'users');
    let monthCount = 0;
    for (let t = from; t < to; t = nextBucket(t, 'month', TZ)) monthCount++;
    expect(after.months.points).toHaveLength(monthCount);
    expect(monthCount).toBeGreaterThanOrEqual(19);
    for (const p of after.months.points) {
      const t = Date.parse(p.t);
      const inMonth = inRange.filter((e) => e.ts >= t && e.ts < nextBucket(t, 'month', TZ));
      expect(p.events, p.t).toBe(inMonth.length);
      expectWithin(p.users, new Set(inMonth.map((e) => e.userId)).size, 0.02, `users ${p.t}`);
    }
    for (const row of after.byCountry.rows) expect(row.events).toBe(inRange.filter((e) => e.context.country === row.key).length);
    expect(after.roomB.events).toBe(inRange.filter((e) => e.room === 'r2' && e.type === 'b').length);

    // Nothing left to merge: a second run changes nothing.
    expect(await mergeOldDayRollups(env.DB, now)).toEqual({ dayRows: 0, monthRows: 0, complete: true });
    expect(await reports()).toEqual(before);
  });

  it('a run that finds another run holding the lease merges nothing', async () => {
    const now = Date.now();
    const ws = await createWorkspace('month-lease', { timezone: TZ });
    await env.DB.batch(rollupStatements(env.DB, { id: ws.id, slug: ws.slug, timezone: TZ }, aggregate(history(now).slice(0, 500), TZ)));
    const old = await countRows(ws.id, 'day', '<', monthFloor(now, TZ));
    expect(old).toBeGreaterThan(0);
    await sql(`INSERT INTO job_state (name, state, updated_at) VALUES ('month-rollups:lease', '{}', ?)`, now);
    expect(await mergeOldDayRollups(env.DB, now)).toEqual({ dayRows: 0, monthRows: 0, complete: false });
    expect(await countRows(ws.id, 'day', '<', monthFloor(now, TZ))).toBe(old);
    // A lease left by a run that died expires.
    expect((await mergeOldDayRollups(env.DB, now + 61_000)).complete).toBe(true);
    expect(await countRows(ws.id, 'day', '<', monthFloor(now, TZ))).toBe(0);
  });
});
