import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { FIRST_SEEN_BACKFILL_JOB, runFirstSeenBackfill } from '../src/history/first-seen-backfill';
import { firstSeenStatements } from '../src/history/first-seen';
import type { NormalizedEvent } from '../src/ingest/types';
import { call, createWorkspace, flush, ROOT } from './helpers';

const DAY = 86_400_000;

const event = (userId: string | null, ts: number, id = crypto.randomUUID()): NormalizedEvent => ({
  id, type: 'page.view', ts, receivedAt: ts, userId, sessionId: null, room: null,
  durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
});

const firstSeen = async (workspaceId: string) =>
  new Map((await env.DB.prepare(`SELECT user_id AS u, first_seen AS f FROM user_first_seen WHERE workspace_id = ?`).bind(workspaceId).all<{ u: string; f: number }>())
    .results.map((r) => [r.u, r.f]));

/** Rows D1 reports written by the first-seen upserts of these events. */
async function rowsWritten(workspaceId: string, events: NormalizedEvent[]): Promise<number> {
  const results = await env.DB.batch(firstSeenStatements(env.DB, workspaceId, events));
  return results.reduce((s, r) => s + (r.meta.rows_written ?? 0), 0);
}

describe('user_first_seen', () => {
  it('a repeat user costs no row written; a new user or an earlier time does', async () => {
    const ws = await createWorkspace('first-seen-rows');
    const t = Date.now() - 10 * DAY;
    const many = Array.from({ length: 200 }, (_, i) => event(`u${i}`, t + i));
    const fresh = await rowsWritten(ws.id, many);
    // A new user: its row, its primary-key entry and its (workspace, first_seen) index entry.
    expect(fresh).toBeGreaterThanOrEqual(200);
    expect(fresh).toBeLessThanOrEqual(3 * 200);
    // The same users later (and several events each): nothing written.
    const repeat = Array.from({ length: 600 }, (_, i) => event(`u${i % 200}`, t + DAY + i));
    expect(await rowsWritten(ws.id, repeat)).toBe(0);
    // Three of them turn out to have been seen earlier (a late event): those rows move, nothing else.
    const earlier = await rowsWritten(ws.id, [event('u1', t - DAY), event('u2', t - 2 * DAY), event('u3', t - 5), ...repeat.slice(0, 50)]);
    expect(earlier).toBeGreaterThanOrEqual(3);
    expect(earlier).toBeLessThanOrEqual(3 * 3);
    const rows = await firstSeen(ws.id);
    expect(rows.size).toBe(200);
    expect([rows.get('u1'), rows.get('u2'), rows.get('u3'), rows.get('u4')]).toEqual([t - DAY, t - 2 * DAY, t - 5, t + 4]);
    console.log(`first-seen rows written: 200 new users ${fresh}, 600 events of the same users later 0, 3 earlier times ${earlier}`);
  });

  it('the drain writes it: each user’s earliest event across drains, out of order too', async () => {
    const ws = await createWorkspace('first-seen-drain');
    const t = Date.now() - 3 * DAY;
    const send = async (events: object[]) => {
      expect((await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } })).status).toBe(202);
      expect(await flush(ws)).toBe(0);
    };
    await send([{ id: 'a1', type: 'x', userId: 'alice', timestamp: t + 1000 }, { id: 'a2', type: 'x', userId: 'alice', timestamp: t + 500 }, { id: 'n1', type: 'x', timestamp: t }]);
    await send([{ id: 'b1', type: 'x', userId: 'bob', timestamp: t + 2000 }, { id: 'a3', type: 'x', userId: 'alice', timestamp: t + 9000 }]);
    // A late event from before alice's first.
    await send([{ id: 'a4', type: 'x', userId: 'alice', timestamp: t - 100 }]);
    expect(await firstSeen(ws.id)).toEqual(new Map([['alice', t - 100], ['bob', t + 2000]]));
  });

  it('goes with its workspace', async () => {
    const ws = await createWorkspace('first-seen-delete');
    await rowsWritten(ws.id, [event('x', Date.now())]);
    expect((await firstSeen(ws.id)).size).toBe(1);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
    expect((await firstSeen(ws.id)).size).toBe(0);
  });

  it('is backfilled once from user_rollups (min first_seen per user), resumably, never moving a time later', async () => {
    const a = await createWorkspace('backfill-a');
    const b = await createWorkspace('backfill-b');
    const t = Date.now() - 20 * DAY;
    // An installation from before the table: daily rows of 30 users in a, 12 in b, over several days each.
    const insert = env.DB.prepare(`INSERT INTO user_rollups (workspace_id, user_id, day, events, errors, bytes_in, bytes_out, value,
        duration_count, duration_sum, durations, sessions, first_seen, last_seen) VALUES (?, ?, ?, 1, 0, 0, 0, 0, 0, 0, NULL, NULL, ?, ?)`);
    const expected = new Map<string, Map<string, number>>([[a.id, new Map()], [b.id, new Map()]]);
    const rows: D1PreparedStatement[] = [];
    for (const [ws, n] of [[a, 30], [b, 12]] as const) {
      for (let u = 0; u < n; u++) {
        for (let d = 0; d < 4; d++) {
          const day = t + (u % 5 + d) * DAY;
          const first = day + ((u * 7 + d * 13) % 11) * 3_600_000;
          rows.push(insert.bind(ws.id, `user-${u}`, day, first, first + 60_000));
          const m = expected.get(ws.id)!;
          m.set(`user-${u}`, Math.min(m.get(`user-${u}`) ?? Infinity, first));
        }
      }
    }
    await env.DB.batch(rows);
    // Some users already have rows: one later (the drain saw only a recent event), one earlier (kept).
    await rowsWritten(a.id, [event('user-0', Date.now()), event('user-1', t - 30 * DAY)]);
    expected.get(a.id)!.set('user-1', t - 30 * DAY);
    // A deleted workspace's leftover rows are not resurrected.
    await env.DB.prepare(`INSERT INTO user_rollups (workspace_id, user_id, day, events, errors, bytes_in, bytes_out, value,
        duration_count, duration_sum, first_seen, last_seen) VALUES ('gone-workspace', 'ghost', ?1, 1, 0, 0, 0, 0, 0, 0, ?1, ?1)`).bind(t).run();
    await env.DB.prepare(`DELETE FROM job_state WHERE name = ?`).bind(FIRST_SEEN_BACKFILL_JOB).run();

    // Chunks of 7 users, a budget of 0: each run does one chunk and stops, the next continues.
    let runs = 0;
    let total = 0;
    for (;;) {
      const run = await runFirstSeenBackfill(env.DB, { budgetMs: 0, chunkUsers: 7 });
      total += run.users;
      runs++;
      if (run.done) break;
      expect(runs).toBeLessThan(100);
    }
    expect(total).toBeGreaterThanOrEqual(43);
    expect(runs).toBeGreaterThan(6);
    expect(await firstSeen(a.id)).toEqual(expected.get(a.id));
    expect(await firstSeen(b.id)).toEqual(expected.get(b.id));
    expect((await firstSeen('gone-workspace')).size).toBe(0);
    // Done: the next run only reads its state.
    expect(await runFirstSeenBackfill(env.DB)).toEqual({ users: 0, done: true });
  });
});

describe('growth reports at scale', () => {
  it('answers cohorts and newUsers over 20,000 users and about 150,000 user-days in bounded time', async () => {
    const ws = await createWorkspace('growth-scale');
    const now = Date.now();
    const start = now - 60 * DAY;
    // 20,000 users first seen over 60 days, each active on 10 days (every 3rd day from their first): built in SQL.
    await env.DB.prepare(`INSERT INTO user_first_seen (workspace_id, user_id, first_seen)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
        SELECT ?1, 'u' || i, ?2 + (i * 259) % (60 * 86400000 / 1000) * 1000 FROM n`).bind(ws.id, start).run();
    await env.DB.prepare(`INSERT INTO user_rollups (workspace_id, user_id, day, events, errors, bytes_in, bytes_out, value,
        duration_count, duration_sum, first_seen, last_seen)
        WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9)
        SELECT f.workspace_id, f.user_id, (f.first_seen - f.first_seen % 86400000) + k.j * 3 * 86400000, 1, 0, 0, 0, 0, 0, 0, f.first_seen, f.first_seen
        FROM user_first_seen f, k WHERE f.workspace_id = ?1 AND (f.first_seen - f.first_seen % 86400000) + k.j * 3 * 86400000 < ?2`).bind(ws.id, now).run();
    const rows = await env.DB.prepare(`SELECT count(*) AS n FROM user_rollups WHERE workspace_id = ?`).bind(ws.id).first<{ n: number }>();
    expect(rows!.n).toBeGreaterThan(100_000);
    const timed = async (path: string) => {
      const t0 = Date.now();
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/${path}`, { token: ws.keys.read });
      expect(res.status, res.text).toBe(200);
      return { ms: Date.now() - t0, json: res.json };
    };
    const week = await timed('retention?cohort=week&periods=8');
    const day = await timed(`retention?cohort=day&periods=30&from=${now - 45 * DAY}`);
    const series = await timed('timeseries?range=90d&granularity=day&metrics=newUsers');
    expect(series.json.points.reduce((s: number, p: { newUsers: number }) => s + p.newUsers, 0)).toBe(20_000);
    expect(week.json.cohorts.reduce((s: number, c: { users: number }) => s + c.users, 0)).toBeGreaterThan(10_000);
    console.log(`growth at scale (${rows!.n} user-days): weekly cohorts ${week.ms} ms, daily cohorts × 30 periods ${day.ms} ms, newUsers per day over 90 days ${series.ms} ms`);
    // Generous: a shared 2-core machine.
    for (const t of [week, day, series]) expect(t.ms).toBeLessThan(15_000);
  }, 90_000);
});
