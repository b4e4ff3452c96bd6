import { beforeAll, describe, expect, it } from 'vitest';
import { call, createWorkspace, flush, hub, type TestWorkspace } from './helpers';
import { exactQuantile, expectWithin, load, makeDataset, sql, type Dataset } from './history-dataset';

const TZ = 'America/New_York';
const HOUR = 3_600_000;
let ws: TestWorkspace;
let ds: Dataset;
const now = Date.now();

type Filters = Record<string, string>;

/** The same question as brute-force SQL over raw events. */
function where(f: Filters, from: number, to: number) {
  const parts = ['workspace_id = ?', 'ts >= ?', 'ts < ?'];
  const binds: unknown[] = [ws.id, from, to];
  for (const [k, v] of Object.entries(f)) {
    const col = k === 'userId' ? 'user_id' : k === 'type' || k === 'room' ? k : `json_extract(context, '$.${k}')`;
    parts.push(`${col} = ?`);
    binds.push(v);
  }
  return { w: parts.join(' AND '), binds };
}

async function brute(f: Filters, from: number, to: number, keyExpr = "''") {
  const { w, binds } = where(f, from, to);
  const rows = await sql<any>(
    `SELECT ${keyExpr} AS k, count(*) AS events, count(error) AS errors, coalesce(sum(bytes_in),0) AS bytesIn, coalesce(sum(bytes_out),0) AS bytesOut,
      coalesce(sum(value),0) AS value, count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions, avg(duration_ms) AS avg,
      json_group_array(duration_ms) FILTER (WHERE duration_ms IS NOT NULL) AS durs
     FROM events WHERE ${w} AND ${keyExpr} IS NOT NULL GROUP BY k`,
    ...binds,
  );
  return new Map(rows.map((r) => [String(r.k), { ...r, durs: (JSON.parse(r.durs) as number[]).sort((a, b) => a - b) }]));
}

function compare(api: any, exact: any, what: string) {
  expect(api.events, `${what} events`).toBe(exact.events);
  expect(api.errors, `${what} errors`).toBe(exact.errors);
  expect(api.bytesIn, `${what} bytesIn`).toBe(exact.bytesIn);
  expect(api.bytesOut, `${what} bytesOut`).toBe(exact.bytesOut);
  expect(api.value, `${what} value`).toBe(exact.value);
  expectWithin(api.users, exact.users, 0.02, `${what} users`);
  if (api.durationMs) {
    if (exact.avg === null) expect(api.durationMs.avg).toBeNull();
    else expect(api.durationMs.avg).toBeCloseTo(exact.avg, 6);
    for (const [p, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) expectWithin(api.durationMs[p], exactQuantile(exact.durs, q), 0.01, `${what} ${p}`);
  }
}

const qs = (o: Record<string, unknown>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();
const get = async (path: string, q: Record<string, unknown>) => {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${qs(q)}`, { token: ws.keys.read });
  expect(res.status, `${path} ${res.text}`).toBe(200);
  return res.json;
};

const FILTER_SETS: Filters[] = [
  {},
  { type: 'api.call' },
  { room: 'standup' },
  { country: 'IN' },
  { platform: 'iOS', type: 'message.sent' },
  { device: 'mobile' },
  { browser: 'Safari' },
  { os: 'iOS 18' },
  { userId: 'user-3' },
  { room: 'lobby', country: 'DE' },
];

describe('history reports against brute-force SQL', () => {
  beforeAll(async () => {
    ws = await createWorkspace('hist', { timezone: TZ });
    ds = makeDataset(TZ, now);
    await load(ws, ds.events);
    expect((await sql<{ n: number }>('SELECT count(*) AS n FROM events WHERE workspace_id = ?', ws.id))[0].n).toBe(ds.events.length);
  }, 120_000);

  it('writes a handful of rollup rows per drain, not one per event', async () => {
    // Rows are bounded by (bucket × type × dimension value), whatever the number of events.
    const rows = await sql<{ grain: string; n: number; events: number }>(
      `SELECT grain, count(*) AS n, sum(events) AS events FROM rollups WHERE workspace_id = ? AND dim = '' AND type <> '' GROUP BY grain`, ws.id);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.events, r.grain).toBe(ds.events.length);
    const [all] = await sql<{ events: number }>(`SELECT sum(events) AS events FROM rollups WHERE workspace_id = ? AND grain = 'hour' AND type = '' AND dim = ''`, ws.id);
    expect(all.events).toBe(ds.events.length);
    const [{ n }] = await sql<{ n: number }>(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day'`, ws.id);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(ds.events.length / 3);
  });

  it('a drain of 5,000 live events writes a few dozen rollup rows (D1 rows written per event reported)', async () => {
    const burst = await createWorkspace('burst', { timezone: TZ });
    const t = Date.now() - 90_000;
    const events = Array.from({ length: 5000 }, (_, i) => ({
      id: `b-${i}`, type: ['page.view', 'message.sent', 'api.call'][i % 3], timestamp: t + (i % 60) * 1000, userId: `u${i % 400}`,
      room: ['standup', 'lobby'][i % 2], durationMs: i % 300, context: { country: ['DE', 'US'][i % 2], platform: 'Web', device: 'desktop', browser: 'Chrome', os: 'macOS' },
    }));
    for (let i = 0; i < 5000; i += 500) {
      const res = await call('POST', `/api/v1/workspaces/${burst.slug}/events`, { token: burst.keys.ingest, body: { events: events.slice(i, i + 500) } });
      expect(res.status).toBe(202);
    }
    expect(await flush(burst)).toBe(0);
    const [{ n }] = await sql<{ n: number }>('SELECT count(*) AS n FROM rollups WHERE workspace_id = ?', burst.id);
    const usage = await hub(burst.id).usage();
    console.log(`5,000 events: ${n} rollup rows; D1 rows written ${usage.d1RowsWritten} = ${(usage.d1RowsWritten / 5000).toFixed(2)} per event`);
    expect(n).toBeLessThan(200);
  });

  it('summary equals the raw answer for every filter, over unaligned and named ranges', async () => {
    const ranges = [
      { q: { from: ds.from + 12_345, to: now - 7_777 }, from: ds.from + 12_345, to: now - 7_777 },
      { q: { from: new Date(ds.monthStart - 5 * HOUR).toISOString(), to: ds.monthStart + 26 * HOUR + 1 }, from: ds.monthStart - 5 * HOUR, to: ds.monthStart + 26 * HOUR + 1 },
    ];
    for (const r of ranges) {
      for (const f of FILTER_SETS) {
        const api = await get('stats/summary', { ...r.q, ...f });
        const exact = (await brute(f, r.from, r.to)).get('') ?? { events: 0, errors: 0, bytesIn: 0, bytesOut: 0, value: 0, users: 0, sessions: 0, avg: null, durs: [] };
        compare(api, exact, `summary ${JSON.stringify(f)} ${r.from}`);
        expectWithin(api.sessions, exact.sessions, 0.02, 'sessions');
        expect(api.errorRate).toBeCloseTo(exact.events ? exact.errors / exact.events : 0, 12);
      }
    }
    const named = await get('stats/summary', { range: '30d' });
    const exact = (await brute({}, now - 30 * 24 * HOUR, Date.now() + 1)).get('')!;
    compare(named, exact, 'range=30d');
  });

  it('timeseries: every local bucket present, counts per bucket equal', async () => {
    const cases = [
      { granularity: 'hour', from: ds.monthStart - 7 * HOUR - 999, to: ds.monthStart + 5 * HOUR + 31_000 },
      { granularity: 'day', from: ds.from, to: now },
      { granularity: 'week', from: ds.from, to: now },
      { granularity: 'month', from: ds.from, to: now },
      { granularity: 'minute', from: now - 3 * HOUR - 17_000, to: now - HOUR },
    ];
    const fmt = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hourCycle: 'h23', weekday: 'short', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    for (const c of cases) {
      for (const f of [{}, { type: 'page.view' }, { room: 'lobby' }, { userId: 'user-1' }] as Filters[]) {
        const api = await get('stats/timeseries', { granularity: c.granularity, from: c.from, to: c.to, metrics: 'events,users,errors,bytesIn,value,durationP95', ...f });
        const points = api.points as Array<Record<string, any>>;
        expect(points.length).toBeGreaterThan(0);
        for (let i = 0; i < points.length; i++) {
          const t = Date.parse(points[i].t);
          const p = Object.fromEntries(fmt.formatToParts(t).map((x) => [x.type, x.type === 'weekday' ? x.value : Number(x.value)]));
          if (c.granularity !== 'minute') expect(p.minute, `${c.granularity} bucket at a local hour`).toBe(0);
          if (['day', 'week', 'month'].includes(c.granularity)) expect(p.hour, `${points[i].t} local midnight`).toBe(0);
          if (c.granularity === 'week') expect(p.weekday).toBe('Mon');
          if (c.granularity === 'month') expect(p.day).toBe(1);
          const next = i + 1 < points.length ? Date.parse(points[i + 1].t) : c.to;
          if (i === 0) expect(t).toBeLessThanOrEqual(c.from);
          const exact = (await brute(f, Math.max(t, c.from), Math.min(next, c.to))).get('');
          expect(points[i].events, `${c.granularity} ${points[i].t}`).toBe(exact?.events ?? 0);
          expect(points[i].errors).toBe(exact?.errors ?? 0);
          expect(points[i].bytesIn).toBe(exact?.bytesIn ?? 0);
          expect(points[i].value).toBe(exact?.value ?? 0);
          expectWithin(points[i].users, exact?.users ?? 0, 0.02, 'users');
          expectWithin(points[i].durationP95, exact ? exactQuantile(exact.durs, 0.95) : null, 0.01, 'p95');
        }
        expect(Date.parse(points[points.length - 1].t)).toBeLessThan(c.to);
      }
    }
  });

  it('a month boundary crosses the DST change: buckets are local', async () => {
    const api = await get('stats/timeseries', { granularity: 'day', from: ds.monthStart - 24 * HOUR, to: ds.monthStart + 48 * HOUR });
    expect(api.points.length).toBeGreaterThanOrEqual(3);
  });

  it('breakdown by every key, with and without filters', async () => {
    const keys: Record<string, string> = {
      type: 'type', room: 'room', userId: 'user_id', country: "json_extract(context, '$.country')", platform: "json_extract(context, '$.platform')",
      device: "json_extract(context, '$.device')", browser: "json_extract(context, '$.browser')", os: "json_extract(context, '$.os')", error: 'error',
      'property:plan': "json_extract(properties, '$.plan')",
    };
    for (const [by, expr] of Object.entries(keys)) {
      for (const f of [{}, { type: 'api.call' }, { room: 'standup' }, { platform: 'Web' }] as Filters[]) {
        const api = await get('stats/breakdown', { by, limit: 1000, from: ds.from, to: now, ...f });
        const exact = await brute(f, ds.from, now, expr);
        expect(api.by).toBe(by);
        expect(api.rows.map((r: any) => r.key).sort(), `${by} ${JSON.stringify(f)} keys`).toEqual([...exact.keys()].sort());
        for (const row of api.rows) compare(row, exact.get(row.key), `breakdown ${by} ${JSON.stringify(f)} ${row.key}`);
        for (let i = 1; i < api.rows.length; i++) expect(api.rows[i - 1].events).toBeGreaterThanOrEqual(api.rows[i].events);
      }
    }
    const odd = await get('stats/breakdown', { by: 'property:we"ird\\$.[0]', from: ds.from, to: now });
    expect(odd.rows).toEqual([]);
    const top = await get('stats/breakdown', { by: 'userId', limit: 3, from: ds.from, to: now });
    expect(top.rows).toHaveLength(3);
    // 40 breakdowns, many of them archive scans of ~300 uncompacted drain parts.
  }, 180_000);

  it('users list and detail equal GROUP BY user_id', async () => {
    const exact = await sql<any>(
      `SELECT user_id, count(*) AS events, max(ts) AS last, min(ts) AS first, count(error) AS errors, count(DISTINCT session_id) AS sessions,
        coalesce(sum(bytes_in), 0) AS bytesIn, coalesce(sum(bytes_out), 0) AS bytesOut
       FROM events WHERE workspace_id = ? AND user_id IS NOT NULL GROUP BY user_id ORDER BY events DESC, last DESC, user_id LIMIT 20`,
      ws.id,
    );
    // Without filters, from per-user daily rollups: exact counts, sessions a HyperLogLog estimate (±1 among a few dozen).
    const api = await get('users', { sort: 'events', limit: 20, from: ds.from, to: now });
    expect(api.users.map((u: any) => [u.userId, u.events, u.errors, u.bytesIn, u.bytesOut, Date.parse(u.firstSeen), Date.parse(u.lastSeen)])).toEqual(
      exact.map((u) => [u.user_id, u.events, u.errors, u.bytesIn, u.bytesOut, u.first, u.last]),
    );
    api.users.forEach((u: any, i: number) => expect(Math.abs(u.sessions - exact[i].sessions), u.userId).toBeLessThanOrEqual(Math.max(1, 0.02 * exact[i].sessions)));
    const byLast = await get('users', { sort: 'lastSeen', limit: 5, from: ds.from, to: now });
    const lastSeen = byLast.users.map((u: any) => Date.parse(u.lastSeen));
    expect(lastSeen).toEqual([...lastSeen].sort((a, b) => b - a));
    const one = await get(`users/${exact[0].user_id}`, { from: ds.from, to: now });
    expect(one.user.events).toBe(exact[0].events);
    const durs = (await sql<{ d: number }>(`SELECT duration_ms AS d FROM events WHERE workspace_id = ? AND user_id = ? AND duration_ms IS NOT NULL ORDER BY d`, ws.id, exact[0].user_id)).map((r) => r.d);
    expectWithin(one.user.durationMs.p95, exactQuantile(durs, 0.95), 0.01, 'user p95');
    const missing = await call('GET', `/api/v1/workspaces/${ws.slug}/users/nobody?range=30d`, { token: ws.keys.read });
    expect(missing.status).toBe(404);
  }, 90_000);

  it('the OpenAPI document lists every report and states the estimates and raw-event limits', async () => {
    const res = await call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const paths = res.json.paths as Record<string, Record<string, { description?: string }>>;
    for (const p of ['stats/summary', 'stats/timeseries', 'stats/breakdown', 'users', 'users/{userId}', 'sessions', 'rooms', 'export', 'metrics']) {
      expect(paths[`/api/v1/workspaces/{ws}/${p}`]?.get, p).toBeDefined();
    }
    const summary = paths['/api/v1/workspaces/{ws}/stats/summary'].get.description!;
    expect(summary).toMatch(/within 2%/);
    expect(summary).toMatch(/within 1% relative error/);
    expect(summary).toMatch(/userId.*raw events/);
    expect(paths['/api/v1/workspaces/{ws}/stats/breakdown'].get.description).toMatch(/property:NAME.*raw events/);
  });

  it('rejects bad report parameters with 400 and a clear issue', async () => {
    for (const [path, q] of [
      ['stats/summary', 'range=12d'],
      ['stats/summary', 'from=nonsense'],
      ['stats/summary', `from=${now}&to=${now - 1000}`],
      ['stats/summary', 'range=7d&from=1700000000000'],
      ['stats/timeseries', 'granularity=second'],
      ['stats/timeseries', 'metrics=events,bogus'],
      ['stats/timeseries', 'granularity=minute&range=90d'],
      ['stats/breakdown', 'by=color'],
      ['stats/breakdown', 'by=type&limit=0'],
      ['users', 'sort=name'],
      ['export', 'format=xml'],
    ]) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${q}`, { token: ws.keys.read });
      expect(res.status, `${path}?${q}`).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
    }
    const ingest = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary`, { token: ws.keys.ingest });
    expect(ingest.status).toBe(403);
  });
});
