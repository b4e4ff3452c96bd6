import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../src/history/retention';
import { bucketStarts } from '../src/history/reports/stats';
import { bucketStart, type Granularity } from '../src/history/time';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';
import { monthStartBefore, rng, sql } from './history-dataset';

const TZ = 'America/New_York';
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NAMES = ['cpu', 'memory.rss', 'queue-depth', 'tasks:inflight'];
const now = Date.now();
const monthStart = monthStartBefore(now - 8 * DAY, TZ);
let ws: TestWorkspace;
let samples: Array<{ name: string; v: number; ts: number }>;

/** Events with gauges: half around a local month boundary 1–4 weeks ago (±30 h), half over the last 20 hours; unique times. */
function dataset(n: number) {
  const r = rng(1234);
  const used = new Set<number>();
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    let ts = i % 2 === 0 ? monthStart - 30 * HOUR + Math.floor(r() * 60 * HOUR) : now - 20 * HOUR + Math.floor(r() * 20 * HOUR - MIN);
    while (used.has(ts)) ts++;
    used.add(ts);
    const gauges: Record<string, number> = {};
    for (const name of NAMES) {
      if (r() < 0.6) gauges[name] = r() < 0.05 ? (r() < 0.5 ? -1 : 1) * Math.floor(r() * 1e15) : Math.round((r() * 300 - 100) * 1000) / 1000;
    }
    events.push({ id: `gh-${i}`, type: 'server.tick', timestamp: ts, ...(Object.keys(gauges).length ? { gauges } : {}) });
  }
  return events;
}

type Fold = { min: number; max: number; sum: number; samples: number; last: number; lastTs: number };

/** Brute force: each sample of [from, to) folded into its bucket. */
function brute(name: string, g: Granularity, from: number, to: number) {
  const folds = new Map<number, Fold>();
  for (const s of samples) {
    if (s.name !== name || s.ts < from || s.ts >= to) continue;
    const t = bucketStart(s.ts, g, TZ);
    const f = folds.get(t);
    if (!f) folds.set(t, { min: s.v, max: s.v, sum: s.v, samples: 1, last: s.v, lastTs: s.ts });
    else {
      f.min = Math.min(f.min, s.v);
      f.max = Math.max(f.max, s.v);
      f.sum += s.v;
      f.samples++;
      if (s.ts > f.lastTs) [f.last, f.lastTs] = [s.v, s.ts];
    }
  }
  return folds;
}

const get = async (q: Record<string, string | number>, key = ws.keys.read) => {
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return call('GET', `/api/v1/workspaces/${ws.slug}/stats/gauges?${qs}`, { token: key });
};

function expectPoints(points: any[], name: string, g: Granularity, from: number, to: number, what: string) {
  const starts = bucketStarts(from, to, g, TZ)!;
  expect(points.map((p) => p.t), what).toEqual(starts.map((t) => new Date(t).toISOString()));
  const exact = brute(name, g, from, to);
  let nonEmpty = 0;
  for (const p of points) {
    const f = exact.get(Date.parse(p.t));
    const at = `${what} ${p.t}`;
    if (!f) {
      expect(p, at).toEqual({ t: p.t, min: null, avg: null, max: null, last: null, samples: 0 });
      continue;
    }
    nonEmpty++;
    expect(p.samples, at).toBe(f.samples);
    expect(p.min, at).toBe(f.min);
    expect(p.max, at).toBe(f.max);
    expect(p.last, at).toBe(f.last);
    const avg = f.sum / f.samples;
    expect(Math.abs(p.avg - avg), `${at} avg ${p.avg} vs ${avg}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(avg)));
  }
  return nonEmpty;
}

describe('gauge history against brute force', () => {
  beforeAll(async () => {
    ws = await createWorkspace('gauges-hist', { timezone: TZ });
    const events = dataset(2400);
    samples = events.flatMap((e) => Object.entries((e.gauges ?? {}) as Record<string, number>).map(([name, v]) => ({ name, v, ts: e.timestamp as number })));
    // Shuffled, so that a bucket's latest sample often arrives before older ones, and over several drains.
    const r = rng(99);
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
    for (let i = 0; i < events.length; i += 400) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: events.slice(i, i + 400) } });
      expect(res.status, res.text).toBe(202);
      expect(await flush(ws)).toBe(0);
    }
  }, 120_000);

  it('writes one gauge_rollups row per grain, bucket and name, holding every sample', async () => {
    const rows = await sql<{ grain: string; n: number; samples: number }>(
      `SELECT grain, count(*) AS n, sum(samples) AS samples FROM gauge_rollups WHERE workspace_id = ? GROUP BY grain ORDER BY grain`, ws.id);
    expect(rows.map((r) => r.grain)).toEqual(['day', 'hour', 'minute']);
    for (const r of rows) expect(r.samples, r.grain).toBe(samples.length);
    const day = rows.find((r) => r.grain === 'day')!;
    expect(day.n).toBeLessThanOrEqual(6 * NAMES.length);
  });

  it('min, avg, max, last and samples per minute, hour, day, week and month equal brute force over aligned, unaligned and named ranges', async () => {
    const cases: Array<{ granularity: Granularity; from: number; to: number }> = [
      // Around a local midnight and month boundary; minute points there are older than the minute rollups: raw events from the archive.
      { granularity: 'hour', from: monthStart - 7 * HOUR - 999, to: monthStart + 5 * HOUR + 31_000 },
      { granularity: 'minute', from: monthStart - 20 * MIN - 17_000, to: monthStart + 15 * MIN + 2_500 },
      { granularity: 'day', from: monthStart - 30 * HOUR, to: now },
      { granularity: 'week', from: monthStart - 30 * HOUR, to: now },
      { granularity: 'month', from: monthStart - 30 * HOUR, to: now },
      { granularity: 'minute', from: now - 3 * HOUR - 17_000, to: now - HOUR },
      { granularity: 'hour', from: now - 20 * HOUR - 12_345, to: now + 1 },
    ];
    let nonEmpty = 0;
    for (const c of cases) {
      for (const name of NAMES) {
        const res = await get({ name, granularity: c.granularity, from: c.from, to: c.to });
        expect(res.status, res.text).toBe(200);
        expect(res.json.name).toBe(name);
        expect(res.json.granularity).toBe(c.granularity);
        nonEmpty += expectPoints(res.json.points, name, c.granularity, c.from, c.to, `${name} ${c.granularity} ${c.from}`);
      }
    }
    expect(nonEmpty).toBeGreaterThan(300);
    // A named range resolves like the other reports' (and hour is the default granularity).
    const before = Date.now();
    const res = await get({ name: 'cpu', range: '24h' });
    expect(res.status).toBe(200);
    expect(res.json.granularity).toBe('hour');
    const after = Date.now();
    // Every sample is older than a minute, so any "now" between the two clocks gives the same folds.
    expect(res.json.points.length).toBeGreaterThanOrEqual(24);
    const total = res.json.points.reduce((a: number, p: any) => a + p.samples, 0);
    expect(total).toBe(samples.filter((s) => s.name === 'cpu' && s.ts >= before - DAY && s.ts < after).length);
  });

  it('lists the gauge names seen in the range', async () => {
    const res = await get({ range: '30d' });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ names: [...NAMES].sort() });
    const none = await get({ from: '2001-01-01T00:00:00Z', to: '2001-01-02T00:00:00Z' });
    expect(none.json).toEqual({ names: [] });
  });

  it('bad queries are a 400 naming the parameter; a gauge never sent is all empty buckets', async () => {
    for (const [q, path] of [
      [{ name: '1cpu' }, 'name'],
      [{ name: 'cpu', granularity: 'second' }, 'granularity'],
      [{ granularity: 'hour' }, 'granularity'],
      [{ name: 'cpu', type: 'page' }, ''],
      [{ name: 'cpu', granularity: 'minute', range: '90d' }, 'granularity'],
      [{ name: 'cpu', from: now - HOUR, to: now - 2 * HOUR }, 'from'],
      [{ name: 'cpu', range: '24h', from: now - HOUR }, 'range'],
    ] as Array<[Record<string, string | number>, string]>) {
      const res = await get(q);
      expect(res.status, `${JSON.stringify(q)} ${res.text}`).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      if (path) expect(res.json.error.issues.map((i: any) => i.path).join(' '), JSON.stringify(q)).toContain(path);
    }
    expect((await get({ name: 'cpu' }, ws.keys.ingest)).status).toBe(403);
    const empty = await get({ name: 'never.sent', granularity: 'day', range: '7d' });
    expect(empty.status).toBe(200);
    expect(empty.json.points.length).toBeGreaterThanOrEqual(7);
    for (const p of empty.json.points) expect(p).toMatchObject({ samples: 0, min: null, avg: null, max: null, last: null });
  });

  it('the cron prunes minute gauge rollups after 48 hours and hour ones after 35 days; day ones stay', async () => {
    const other = await createWorkspace('gauges-ret');
    const at = Date.now();
    const row = (grain: string, bucket: number) =>
      env.DB.prepare(`INSERT INTO gauge_rollups (workspace_id, grain, bucket, name, "min", "max", "sum", samples, "last", last_ts) VALUES (?, ?, ?, 'cpu', 1, 1, 1, 1, 1, ?)`)
        .bind(other.id, grain, bucket, bucket);
    await env.DB.batch([
      row('minute', at - 49 * HOUR), row('minute', at - 47 * HOUR),
      row('hour', at - 36 * DAY), row('hour', at - 34 * DAY),
      row('day', at - 400 * DAY),
    ]);
    const result = await applyRetention(env.DB, at);
    expect(result.complete).toBe(true);
    const left = await sql<{ grain: string; bucket: number }>(`SELECT grain, bucket FROM gauge_rollups WHERE workspace_id = ? ORDER BY grain, bucket`, other.id);
    expect(left).toEqual([
      { grain: 'day', bucket: at - 400 * DAY },
      { grain: 'hour', bucket: at - 34 * DAY },
      { grain: 'minute', bucket: at - 47 * HOUR },
    ]);
  });
});
