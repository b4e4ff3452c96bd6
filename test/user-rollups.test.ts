import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../src/history/retention';
import { bucketStart } from '../src/history/time';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { deleteArchived } from './archived';
import { exactQuantile, expectWithin, load, rng } from './history-dataset';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TZ = 'Europe/Berlin';
const now = Date.now();
/** Four local days ending about two days ago; the middle two (`a`–`b`) lose their raw events below. */
const d0 = bucketStart(now - 6 * DAY, 'day', TZ);
const dayAfter = (t: number) => bucketStart(t + 26 * HOUR, 'day', TZ);
const a = dayAfter(d0);
const b = dayAfter(dayAfter(a));
const end = dayAfter(b);

type Ev = { id: string; type: string; timestamp: number; userId?: string; sessionId?: string; error?: string; bytesIn?: number; bytesOut?: number; durationMs?: number };

function makeEvents(n: number): Ev[] {
  const r = rng(7);
  return Array.from({ length: n }, (_, i) => {
    const e: Ev = { id: `ur-${i}`, type: r() < 0.5 ? 'page.view' : 'api.call', timestamp: d0 + Math.floor(r() * (end - d0)) };
    if (r() < 0.9) e.userId = `user-${Math.floor(r() * r() * 40)}`;
    if (r() < 0.8) e.sessionId = `s-${Math.floor(r() * 150)}`;
    if (r() < 0.1) e.error = 'crash';
    if (r() < 0.6) e.bytesIn = Math.floor(r() * 4000);
    if (r() < 0.6) e.bytesOut = Math.floor(r() * 9000);
    if (r() < 0.5) e.durationMs = Math.round(Math.exp(1 + r() * 6) * 10) / 10;
    return e;
  });
}

interface UserTotals { userId: string; events: number; errors: number; bytesIn: number; bytesOut: number; first: number; last: number; sessions: Set<string>; durations: number[] }

function bruteUsers(events: Ev[], from: number, to: number): UserTotals[] {
  const out = new Map<string, UserTotals>();
  for (const e of events) {
    if (!e.userId || e.timestamp < from || e.timestamp >= to) continue;
    let u = out.get(e.userId);
    if (!u) out.set(e.userId, (u = { userId: e.userId, events: 0, errors: 0, bytesIn: 0, bytesOut: 0, first: e.timestamp, last: e.timestamp, sessions: new Set(), durations: [] }));
    u.events++;
    if (e.error) u.errors++;
    u.bytesIn += e.bytesIn ?? 0;
    u.bytesOut += e.bytesOut ?? 0;
    u.first = Math.min(u.first, e.timestamp);
    u.last = Math.max(u.last, e.timestamp);
    if (e.sessionId) u.sessions.add(e.sessionId);
    if (e.durationMs !== undefined) u.durations.push(e.durationMs);
  }
  return [...out.values()];
}

/** HyperLogLog counts: within 2%, or one for small counts (two of a few dozen ids may share one of its 16,384 registers). */
function expectCount(actual: number, exact: number, what: string) {
  expect(Math.abs(actual - exact), `${what}: ${actual} vs ${exact}`).toBeLessThanOrEqual(Math.max(1, 0.02 * exact));
}

const byEvents = (x: UserTotals, y: UserTotals) => y.events - x.events || y.last - x.last || (x.userId < y.userId ? -1 : 1);

function expectUser(actual: any, exact: UserTotals) {
  const what = exact.userId;
  expect(actual.userId).toBe(exact.userId);
  expect(actual.events, what).toBe(exact.events);
  expect(actual.errors, what).toBe(exact.errors);
  expect(actual.bytesIn, what).toBe(exact.bytesIn);
  expect(actual.bytesOut, what).toBe(exact.bytesOut);
  expect(actual.firstSeen, what).toBe(new Date(exact.first).toISOString());
  expect(actual.lastSeen, what).toBe(new Date(exact.last).toISOString());
  expectCount(actual.sessions, exact.sessions.size, `${what} sessions`);
  const sorted = [...exact.durations].sort((x, y) => x - y);
  expectWithin(actual.durationMs.p50, exactQuantile(sorted, 0.5), 0.01, `${what} p50`);
  expectWithin(actual.durationMs.p95, exactQuantile(sorted, 0.95), 0.01, `${what} p95`);
  if (sorted.length) expect(actual.durationMs.avg).toBeCloseTo(sorted.reduce((s, d) => s + d, 0) / sorted.length, 6);
}

const qs = (o: Record<string, unknown>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();
async function get(ws: TestWorkspace, path: string, q: Record<string, unknown>) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${qs(q)}`, { token: ws.keys.read });
  expect(res.status, `${path}?${qs(q)} ${res.text}`).toBe(200);
  return res;
}

describe('per-user daily rollups', () => {
  let ws: TestWorkspace;
  const events = makeEvents(1500);

  beforeAll(async () => {
    ws = await createWorkspace('ur', { timezone: TZ });
    await load(ws, events);
    // The whole days a–b now exist only in rollups: anything right about them below was read from rollups.
    expect(await deleteArchived(ws.id, a, b)).toBeGreaterThan(0);
  }, 120_000);

  it('the drain writes one row per user and local day, with the day totals', async () => {
    const rows = await env.DB.prepare('SELECT user_id, day, events, first_seen, last_seen FROM user_rollups WHERE workspace_id = ?1').bind(ws.id).all<{ user_id: string; day: number; events: number; first_seen: number; last_seen: number }>();
    const exact = new Map<string, number>();
    for (const e of events) if (e.userId) exact.set(`${e.userId}|${bucketStart(e.timestamp, 'day', TZ)}`, (exact.get(`${e.userId}|${bucketStart(e.timestamp, 'day', TZ)}`) ?? 0) + 1);
    expect(rows.results.length).toBe(exact.size);
    for (const r of rows.results) expect(r.events, `${r.user_id} ${r.day}`).toBe(exact.get(`${r.user_id}|${r.day}`));
  });

  it('/users over whole days equals brute force (sort by events and by last seen)', async () => {
    const exact = bruteUsers(events, a, b).sort(byEvents);
    const res = await get(ws, 'users', { from: a, to: b, limit: 1000 });
    expect(res.json.users.map((u: { userId: string }) => u.userId)).toEqual(exact.map((u) => u.userId));
    res.json.users.forEach((u: unknown, i: number) => expectUser(u, exact[i]));
    const recent = await get(ws, 'users', { from: a, to: b, sort: 'lastSeen', limit: 5 });
    expect(recent.json.users.map((u: { userId: string }) => u.userId)).toEqual([...exact].sort((x, y) => y.last - x.last).slice(0, 5).map((u) => u.userId));
  });

  it('/users and /users/{id} over a range starting and ending mid-day count the days it touches whole', async () => {
    const exact = bruteUsers(events, a, b).sort(byEvents);
    const res = await get(ws, 'users', { from: a + 5 * HOUR, to: b - 3 * HOUR, limit: 1000 });
    expect(res.json.users.map((u: { userId: string }) => u.userId)).toEqual(exact.map((u) => u.userId));
    for (const u of exact.slice(0, 5)) {
      const one = await get(ws, `users/${encodeURIComponent(u.userId)}`, { from: a + 5 * HOUR, to: b - 3 * HOUR });
      expectUser(one.json.user, u);
    }
    const missing = await call('GET', `/api/v1/workspaces/${ws.slug}/users/nobody?${qs({ from: a, to: b })}`, { token: ws.keys.read });
    expect(missing.status).toBe(404);
  });

  it('/users with another filter reads raw events of exactly the range', async () => {
    const exact = bruteUsers(events.filter((e) => e.type === 'api.call'), d0 + 3 * HOUR, a).sort(byEvents);
    const res = await get(ws, 'users', { from: d0 + 3 * HOUR, to: a, type: 'api.call', limit: 1000 });
    expect(res.json.users.map((u: { userId: string }) => u.userId)).toEqual(exact.map((u) => u.userId));
    res.json.users.forEach((u: unknown, i: number) => expectUser(u, exact[i]));
  });

  it('a userId filter alone: whole days from user rollups, partial edge days raw, equal to brute force', async () => {
    const from = d0 + 7 * HOUR;
    const to = end - 2 * HOUR;
    for (const u of bruteUsers(events, from, to).sort(byEvents).slice(0, 4)) {
      const mine = events.filter((e) => e.userId === u.userId && e.timestamp >= from && e.timestamp < to);
      const s = await get(ws, 'stats/summary', { from, to, userId: u.userId });
      expect(s.json.events, u.userId).toBe(mine.length);
      expect(s.json.errors).toBe(u.errors);
      expect(s.json.bytesIn).toBe(u.bytesIn);
      expect(s.json.users).toBe(1);
      expectCount(s.json.sessions, u.sessions.size, 'sessions');
      const sorted = [...u.durations].sort((x, y) => x - y);
      expectWithin(s.json.durationMs.p95, exactQuantile(sorted, 0.95), 0.01, 'p95');

      const series = await get(ws, 'stats/timeseries', { from, to, userId: u.userId, granularity: 'day', metrics: 'events,users' });
      expect(series.json.points.length).toBe(4);
      for (const p of series.json.points as Array<{ t: string; events: number; users: number }>) {
        const day = Date.parse(p.t);
        const n = mine.filter((e) => bucketStart(e.timestamp, 'day', TZ) === day).length;
        expect(p.events, `${u.userId} ${p.t}`).toBe(n);
        expect(p.users).toBe(n ? 1 : 0);
      }
      const bd = await get(ws, 'stats/breakdown', { from, to, userId: u.userId, by: 'type' });
      // By type is not in user rollups: raw, so the deleted middle days are missing (shows the other path).
      expect(bd.json.rows.reduce((s: number, r: { events: number }) => s + r.events, 0)).toBe(mine.filter((e) => e.timestamp < a || e.timestamp >= b).length);
    }
  });

  it('retention deletes user rows of days wholly past retentionDays', async () => {
    const before = await env.DB.prepare('SELECT count(*) AS n FROM user_rollups WHERE workspace_id = ?1').bind(ws.id).first<{ n: number }>();
    expect(before!.n).toBeGreaterThan(0);
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { retentionDays: 3 } })).status).toBe(200);
    const result = await applyRetention(env.DB, now);
    expect(result.complete).toBe(true);
    const left = await env.DB.prepare('SELECT min(day) AS first, count(*) AS n FROM user_rollups WHERE workspace_id = ?1').bind(ws.id).first<{ first: number | null; n: number }>();
    expect(result.userRollups).toBe(before!.n - left!.n);
    expect(left!.n).toBeGreaterThan(0);
    expect(left!.first!).toBeGreaterThan(now - 4 * DAY);
  });
});
