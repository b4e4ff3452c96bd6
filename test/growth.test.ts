import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { requestErasure, runErasure } from '../src/history/erasure';
import { applyRetention } from '../src/history/retention';
import { deleteArchived } from './archived';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';
import { rng } from './history-dataset';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Non-UTC, with a DST change inside the data (early November). */
const TZ = 'America/New_York';
const RETENTION_DAYS = 30;
const now = Date.now();
const SPAN_DAYS = 75;

/** Local calendar keys computed with Intl alone (independent of src/history/time.ts): day, Monday week and month numbers. */
const dateFmt = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
const dayNo = (t: number) => Date.parse(dateFmt.format(t)) / DAY;
const keyOf = {
  day: dayNo,
  // Day 0 (1970-01-01) was a Thursday: +3 puts Mondays at multiples of 7.
  week: (t: number) => Math.floor((dayNo(t) + 3) / 7),
  month: (t: number) => {
    const [y, m] = dateFmt.format(t).split('-').map(Number);
    return y * 12 + m - 1;
  },
};
type Grain = keyof typeof keyOf;

type Ev = { id: string; type: string; timestamp: number; userId?: string };

/** 150 users, each first seen somewhere in the last 75 days and then active on some later days, fewer as time goes by. */
function makeEvents(): Ev[] {
  const r = rng(13);
  const out: Ev[] = [];
  for (let u = 0; u < 150; u++) {
    const userId = `grower-${u}`;
    const first = now - SPAN_DAYS * DAY + Math.floor(r() * (SPAN_DAYS - 1) * DAY);
    out.push({ id: `g-${u}-0`, type: 'signup', timestamp: first, userId });
    const loyalty = r();
    for (let t = first + DAY, n = 1; t < now - HOUR; t += DAY) {
      if (r() > loyalty * 0.6) continue;
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) out.push({ id: `g-${u}-${n++}`, type: 'page.view', timestamp: Math.min(now - 60_000, t + Math.floor(r() * 20 * HOUR)), userId });
    }
  }
  // Anonymous events count for nobody.
  for (let i = 0; i < 40; i++) out.push({ id: `anon-${i}`, type: 'page.view', timestamp: now - Math.floor(r() * SPAN_DAYS * DAY) });
  return out;
}

const events = makeEvents();

/** Posts in batches of 500, then drains once: each drain writes an archive part per hour it touches. */
async function post(ws: TestWorkspace, evs: Ev[]) {
  for (let i = 0; i < evs.length; i += 500) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: evs.slice(i, i + 500) } });
    expect(res.status).toBe(202);
  }
  expect(await flush(ws)).toBe(0);
}

const qs = (o: Record<string, unknown>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();
const get = (ws: TestWorkspace, path: string, q: Record<string, unknown>) => call('GET', `/api/v1/workspaces/${ws.slug}/stats/${path}?${qs(q)}`, { token: ws.keys.read });

/** Per user: the first event, and the local periods with any event. */
function bruteUsers(evs: Ev[]) {
  const users = new Map<string, { first: number; active: Record<Grain, Set<number>> }>();
  for (const e of evs) {
    if (!e.userId) continue;
    let u = users.get(e.userId);
    if (!u) users.set(e.userId, (u = { first: e.timestamp, active: { day: new Set(), week: new Set(), month: new Set() } }));
    u.first = Math.min(u.first, e.timestamp);
    for (const g of ['day', 'week', 'month'] as const) u.active[g].add(keyOf[g](e.timestamp));
  }
  return users;
}

describe('growth: new users and retention cohorts', () => {
  let ws: TestWorkspace;
  const users = bruteUsers(events);
  /** user_rollups keep a local day while it is younger than retentionDays + 1 days. */
  const kept = now - (RETENTION_DAYS + 1) * DAY;

  beforeAll(async () => {
    ws = await createWorkspace('growth', { timezone: TZ });
    await post(ws, events);
    // The raw retention passes over the older half of the data: per-user rollups and raw events go.
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { retentionDays: RETENTION_DAYS } })).status).toBe(200);
    expect((await applyRetention(env.DB, now)).userRollups).toBeGreaterThan(0);
    expect(await deleteArchived(ws.id, -Infinity, now - RETENTION_DAYS * DAY - HOUR)).toBeGreaterThan(0);
  }, 120_000);

  it('keeps every first-seen time through the retention, so users first seen before the window are not new when they return', async () => {
    const rows = (await env.DB.prepare(`SELECT user_id AS userId, first_seen AS firstSeen FROM user_first_seen WHERE workspace_id = ?`).bind(ws.id).all<{ userId: string; firstSeen: number }>()).results;
    expect(new Map(rows.map((r) => [r.userId, r.firstSeen]))).toEqual(new Map([...users].map(([id, u]) => [id, u.first])));
    // The data has such users: first seen before the window, active in its last week.
    const oldReturning = [...users.values()].filter((u) => u.first < kept && [...u.active.day].some((d) => d >= dayNo(now - 7 * DAY)));
    expect(oldReturning.length).toBeGreaterThan(5);
    // A late event of one of them, sent after the retention pruned their first days: still not new.
    const [oldId, old] = [...users].find(([, u]) => u.first < kept)!;
    const late = now - 5 * 60_000;
    await post(ws, [{ id: 'late-1', type: 'page.view', timestamp: late, userId: oldId }]);
    for (const g of ['day', 'week', 'month'] as const) old.active[g].add(keyOf[g](late));
    const row = await env.DB.prepare(`SELECT first_seen AS f FROM user_first_seen WHERE workspace_id = ? AND user_id = ?`).bind(ws.id, oldId).first<{ f: number }>();
    expect(row!.f).toBe(old.first);
    const today = await get(ws, 'timeseries', { range: 'today', granularity: 'day', metrics: 'newUsers,users' });
    expect(today.status).toBe(200);
    const newToday = [...users.values()].filter((u) => keyOf.day(u.first) === keyOf.day(now)).length;
    expect(today.json.points.at(-1).newUsers).toBe(newToday);
  });

  for (const granularity of ['day', 'week', 'month'] as const) {
    it(`newUsers per ${granularity} equals brute force over the whole history (clipped to the range)`, async () => {
      const from = now - (SPAN_DAYS + 5) * DAY;
      const res = await get(ws, 'timeseries', { from, to: now + 1, granularity, metrics: 'events,newUsers' });
      expect(res.status, res.text).toBe(200);
      const expected = new Map<number, number>();
      for (const u of users.values()) expected.set(keyOf[granularity](u.first), (expected.get(keyOf[granularity](u.first)) ?? 0) + 1);
      const points: Array<{ t: string; newUsers: number; events: number }> = res.json.points;
      expect(points.length).toBeGreaterThan(2);
      for (const p of points) expect(p.newUsers, p.t).toBe(expected.get(keyOf[granularity](Math.max(Date.parse(p.t), from))) ?? 0);
      expect(points.reduce((s, p) => s + p.newUsers, 0)).toBe(users.size);
      // Clipped: a range starting mid-bucket leaves out the users first seen before it.
      const mid = now - 20 * DAY + 7 * HOUR;
      const clipped = await get(ws, 'timeseries', { from: mid, to: now + 1, granularity, metrics: 'newUsers' });
      const inRange = [...users.values()].filter((u) => u.first >= mid).length;
      expect(clipped.json.points.reduce((s: number, p: { newUsers: number }) => s + p.newUsers, 0)).toBe(inRange);
    });
  }

  const cases: Array<{ cohort: Grain; periods: number; back: number }> = [
    { cohort: 'day', periods: 14, back: 40 },
    { cohort: 'week', periods: 8, back: 77 },
    { cohort: 'month', periods: 3, back: 80 },
  ];
  for (const { cohort, periods, back } of cases) {
    it(`retention cohorts by ${cohort} in ${TZ} equal brute force, null beyond the per-user rollups and in the future`, async () => {
      const res = await get(ws, 'retention', { cohort, periods, from: now - back * DAY, to: now + 1 });
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ cohort, periods });
      const key = keyOf[cohort];
      const rows: Array<{ start: string; users: number; returning: Array<number | null>; returningUsers: Array<number | null> }> = res.json.cohorts;
      expect(key(Date.parse(rows[0].start))).toBe(key(now - back * DAY));
      expect(key(Date.parse(rows.at(-1)!.start))).toBe(key(now));
      let nulls = 0;
      let numbers = 0;
      rows.forEach((row, i) => {
        const k = key(Date.parse(row.start));
        expect(k).toBe(key(Date.parse(rows[0].start)) + i);
        const members = [...users.values()].filter((u) => key(u.first) === k);
        expect(row.users, row.start).toBe(members.length);
        expect(row.returning).toHaveLength(periods);
        for (let p = 1; p <= periods; p++) {
          const period = k + p;
          const unknown = !members.length || period > key(now) || period <= key(kept);
          const n = unknown ? null : members.filter((u) => u.active[cohort].has(period)).length;
          expect(row.returningUsers[p - 1], `${row.start} +${p}`).toBe(n);
          expect(row.returning[p - 1], `${row.start} +${p}`).toBe(n === null ? null : n / members.length);
          if (n === null) nulls++;
          else numbers++;
        }
      });
      // Both kinds occur: answers within the rollups, nulls before them and after now.
      expect(numbers).toBeGreaterThan(0);
      expect(nulls).toBeGreaterThan(0);
    });
  }

  it('defaults to weekly cohorts: the current week and 8 before it, 8 periods each', async () => {
    const res = await get(ws, 'retention', {});
    expect(res.status, res.text).toBe(200);
    expect(res.json.cohort).toBe('week');
    expect(res.json.cohorts).toHaveLength(9);
    expect(keyOf.week(Date.parse(res.json.cohorts.at(-1).start))).toBe(keyOf.week(now));
    for (const c of res.json.cohorts) expect(c.returning).toHaveLength(8);
    // The newest cohort has no period after it yet.
    expect(res.json.cohorts.at(-1).returning.every((s: number | null) => s === null)).toBe(true);
  });

  it('refuses filters, bad periods and too many cohorts with a 400 naming the problem', async () => {
    for (const [path, q, name] of [
      ['retention', { type: 'signup' }, ''],
      ['retention', { room: 'a' }, ''],
      ['retention', { periods: 0 }, 'periods'],
      ['retention', { periods: 1000 }, 'periods'],
      ['retention', { cohort: 'year' }, 'cohort'],
      ['retention', { cohort: 'day', range: '90d' }, 'from'],
      ['retention', { range: '7d', from: now - DAY }, 'range'],
      ['timeseries', { metrics: 'newUsers', type: 'signup' }, 'metrics'],
      ['timeseries', { metrics: 'events,newUsers', 'property.plan': 'pro' }, 'metrics'],
    ] as const) {
      const res = await get(ws, path, q);
      expect(res.status, `${path} ${JSON.stringify(q)}: ${res.text}`).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      if (name) expect(JSON.stringify(res.json.error.issues)).toContain(name);
    }
  });

  it('is in the OpenAPI document, with its bounds and the raw-retention caveat', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const op = doc.paths['/api/v1/workspaces/{ws}/stats/retention'].get;
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['cohort', 'periods', 'range', 'from', 'to']));
    expect(op.description).toContain('retentionDays');
    expect(doc.components.schemas.Retention).toBeDefined();
    expect(doc.paths['/api/v1/workspaces/{ws}/stats/timeseries'].get.description).toContain('newUsers');
  });

  it('erasure deletes the user’s first-seen row', async () => {
    const small = await createWorkspace('growth-erase', { timezone: TZ });
    await post(small, [{ id: 'e1', type: 'x', userId: 'gone', timestamp: now - DAY }, { id: 'e2', type: 'x', userId: 'stays', timestamp: now - DAY }]);
    const { row } = await requestErasure(env.DB, small.id, 'gone');
    for (let i = 0; (await runErasure(env, row.id, 10_000)) !== 'done'; i++) expect(i).toBeLessThan(50);
    const left = await env.DB.prepare(`SELECT user_id AS u FROM user_first_seen WHERE workspace_id = ?`).bind(small.id).all<{ u: string }>();
    expect(left.results.map((r) => r.u)).toEqual(['stays']);
    const res = await get(small, 'timeseries', { range: '7d', granularity: 'day', metrics: 'newUsers' });
    expect(res.json.points.reduce((s: number, p: { newUsers: number }) => s + p.newUsers, 0)).toBe(1);
  });
});
