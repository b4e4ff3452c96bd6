import { beforeAll, describe, expect, it } from 'vitest';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';
import { rng } from './history-dataset';

/** compare=previous on the summary and the timeseries, checked against counts of the seeded events. */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const iso = (t: number) => new Date(t).toISOString();

type Ev = { id: string; type: string; timestamp: number; userId?: string; sessionId?: string; error?: string; properties?: Record<string, string> };

async function get(ws: TestWorkspace, path: string, q: Record<string, string | number>) {
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]));
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/${path}?${qs}`, { token: ws.keys.read });
  expect(res.status, `${path}?${qs} ${res.text}`).toBe(200);
  return res.json;
}

async function seed(ws: TestWorkspace, events: Ev[]) {
  for (let i = 0; i < events.length; i += 500) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: events.slice(i, i + 500) } });
    expect(res.status, res.text).toBe(202);
  }
  expect(await flush(ws)).toBe(0);
}

/** Brute force over the seeded events of [from, to). */
function totals(events: Ev[], from: number, to: number, keep: (e: Ev) => boolean = () => true) {
  const inRange = events.filter((e) => e.timestamp >= from && e.timestamp < to && keep(e));
  return {
    events: inRange.length,
    errors: inRange.filter((e) => e.error).length,
    users: new Set(inRange.map((e) => e.userId).filter(Boolean)).size,
    sessions: new Set(inRange.map((e) => e.sessionId).filter(Boolean)).size,
  };
}

/** Events spread over `[start, end)` with a few types, users, sessions, errors and a property. */
function spread(prefix: string, start: number, end: number, n: number, seed: number): Ev[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    type: pick(['page.view', 'api.call', 'message.sent']),
    timestamp: start + Math.floor(r() * (end - start)),
    userId: `u${Math.floor(r() * 17)}`,
    sessionId: `s${Math.floor(r() * 23)}`,
    ...(r() < 0.1 ? { error: 'timeout' } : {}),
    properties: { plan: pick(['free', 'pro']) },
  }));
}

describe('compare=previous (UTC)', () => {
  let ws: TestWorkspace;
  const T0 = Math.floor((Date.now() - 30 * HOUR) / HOUR) * HOUR;
  // Two adjacent six-hour periods with different traffic, and a little before and after them.
  const events = [
    ...spread('a', T0 - 6 * HOUR, T0, 240, 1),
    ...spread('b', T0, T0 + 6 * HOUR, 330, 2),
    ...spread('c', T0 - 13 * HOUR, T0 - 6 * HOUR, 40, 3),
    ...spread('d', T0 + 6 * HOUR, T0 + 8 * HOUR, 30, 4),
  ];

  beforeAll(async () => {
    ws = await createWorkspace('cmp');
    await seed(ws, events);
  });

  it('summary: previous is the same totals over [from − (to − from), from), read with the same filters', async () => {
    const body = await get(ws, 'summary', { from: iso(T0), to: iso(T0 + 6 * HOUR), compare: 'previous' });
    expect(body.previousRange).toEqual({ from: iso(T0 - 6 * HOUR), to: iso(T0) });
    for (const [answer, from, to] of [[body, T0, T0 + 6 * HOUR], [body.previous, T0 - 6 * HOUR, T0]] as const) {
      const exact = totals(events, from, to);
      expect({ events: answer.events, errors: answer.errors, users: answer.users, sessions: answer.sessions }).toEqual(exact);
      expect(answer.errorRate).toBeCloseTo(exact.errors / exact.events, 12);
    }
    // The previous block has every summary field, and no nested previous of its own.
    expect(Object.keys(body.previous).sort()).toEqual(Object.keys(body).filter((k) => k !== 'previous' && k !== 'previousRange').sort());
    // Equal to asking for the previous range directly.
    const direct = await get(ws, 'summary', { from: iso(T0 - 6 * HOUR), to: iso(T0) });
    expect(body.previous).toEqual(direct);
    // Without compare: no previous.
    const plain = await get(ws, 'summary', { from: iso(T0), to: iso(T0 + 6 * HOUR) });
    expect(plain.previous).toBeUndefined();
    expect(plain.previousRange).toBeUndefined();

    // Filters apply to both periods: a type, and a property (read from the archive).
    const filtered = await get(ws, 'summary', { from: iso(T0 + HOUR), to: iso(T0 + 4 * HOUR), type: 'api.call', 'property.plan': 'pro', compare: 'previous' });
    const keep = (e: Ev) => e.type === 'api.call' && e.properties?.plan === 'pro';
    expect(filtered.previousRange).toEqual({ from: iso(T0 - 2 * HOUR), to: iso(T0 + HOUR) });
    expect(filtered.events).toBe(totals(events, T0 + HOUR, T0 + 4 * HOUR, keep).events);
    expect(filtered.previous.events).toBe(totals(events, T0 - 2 * HOUR, T0 + HOUR, keep).events);
    expect(filtered.previous.users).toBe(totals(events, T0 - 2 * HOUR, T0 + HOUR, keep).users);
  });

  it('timeseries: previous points aligned by offset, equal to a direct query of the previous range and to brute force', async () => {
    const q = { from: iso(T0), to: iso(T0 + 6 * HOUR), granularity: 'hour', metrics: 'events,users,errors' };
    const body = await get(ws, 'timeseries', { ...q, compare: 'previous' });
    expect(body.points).toHaveLength(6);
    expect(body.previous.points).toHaveLength(6);
    expect(body.previousRange).toEqual({ from: iso(T0 - 6 * HOUR), to: iso(T0) });
    body.previous.points.forEach((p: { t: string; events: number; users: number; errors: number }, i: number) => {
      const start = T0 - 6 * HOUR + i * HOUR;
      expect(p.t).toBe(iso(start));
      const exact = totals(events, start, start + HOUR);
      expect({ events: p.events, users: p.users, errors: p.errors }).toEqual({ events: exact.events, users: exact.users, errors: exact.errors });
    });
    const direct = await get(ws, 'timeseries', { ...q, from: iso(T0 - 6 * HOUR), to: iso(T0) });
    expect(body.previous.points).toEqual(direct.points);
    // The current points are those of the same query without compare.
    const plain = await get(ws, 'timeseries', q);
    expect(body.points).toEqual(plain.points);
    expect(plain.previous).toBeUndefined();
  });

  it('timeseries: a range not a whole number of buckets long still gets as many previous points, one bucket earlier each', async () => {
    // 90 minutes from a quarter past: buckets T0+1h and T0+2h; moved back two hours.
    const from = T0 + HOUR + 15 * MIN;
    const to = from + 90 * MIN;
    const body = await get(ws, 'timeseries', { from: iso(from), to: iso(to), granularity: 'hour', metrics: 'events', compare: 'previous' });
    expect(body.points.map((p: { t: string }) => p.t)).toEqual([iso(T0 + HOUR), iso(T0 + 2 * HOUR)]);
    expect(body.previous.points.map((p: { t: string }) => p.t)).toEqual([iso(T0 - HOUR), iso(T0)]);
    expect(body.previousRange).toEqual({ from: iso(from - 2 * HOUR), to: iso(to - 2 * HOUR) });
    expect(body.previous.points.map((p: { events: number }) => p.events)).toEqual([
      totals(events, from - 2 * HOUR, T0).events,
      totals(events, T0, to - 2 * HOUR).events,
    ]);
    // Minute points over ten minutes: ten previous minutes, equal to the direct query.
    const m = await get(ws, 'timeseries', { from: iso(T0 + 20 * MIN), to: iso(T0 + 30 * MIN), granularity: 'minute', metrics: 'events', compare: 'previous' });
    expect(m.previous.points).toHaveLength(10);
    const direct = await get(ws, 'timeseries', { from: iso(T0 + 10 * MIN), to: iso(T0 + 20 * MIN), granularity: 'minute', metrics: 'events' });
    expect(m.previous.points).toEqual(direct.points);
  });
});

describe('compare=previous by local day across a DST change (America/New_York)', () => {
  const tz = 'America/New_York';
  let ws: TestWorkspace;
  // The last autumn that is past: clocks fell back on the first Sunday of November (Nov 1 in 2026).
  const year = new Date().getUTCFullYear() - (Date.now() < Date.UTC(new Date().getUTCFullYear(), 10, 12) ? 1 : 0);
  const dstDay = 1 + ((7 - new Date(Date.UTC(year, 10, 1)).getUTCDay()) % 7); // the first Sunday of November
  const localDay = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
  /** Local midnight of a November/October date in `tz`: EDT (UTC−4) before the change, EST (UTC−5) after. */
  const midnight = (month: 9 | 10, day: number) => Date.UTC(year, month, day) + (month === 9 || day <= dstDay ? 4 : 5) * HOUR;
  const weekStart = midnight(10, dstDay + 1); // the Monday after the change
  const events: Ev[] = [];

  beforeAll(async () => {
    ws = await createWorkspace('cmp-dst', { timezone: tz });
    // Events near local midnights on both sides (where a UTC offset mistake moves them a day), and through the days.
    const r = rng(7);
    for (let d = -9; d <= 8; d++) {
      const dayAt = weekStart + d * DAY;
      for (const [j, offset] of [-90 * MIN, -20 * MIN, 10 * MIN, 50 * MIN, 5 * HOUR, 13 * HOUR, 20 * HOUR].entries()) {
        events.push({ id: `dst-${d}-${j}`, type: 'page.view', timestamp: dayAt + offset + Math.floor(r() * 5 * MIN), userId: `u${Math.floor(r() * 5)}`, ...(j === 3 ? { error: 'x' } : {}) });
      }
    }
    await seed(ws, events);
  });

  const perLocalDay = (from: number, to: number) => {
    const m = new Map<string, number>();
    for (const e of events) if (e.timestamp >= from && e.timestamp < to) m.set(localDay.format(e.timestamp), (m.get(localDay.format(e.timestamp)) ?? 0) + 1);
    return m;
  };

  it('a week of days: the previous seven local days (one of them 25 hours long), aligned one to one', async () => {
    expect(localDay.format(midnight(10, dstDay))).toBe(`${year}-11-0${dstDay}`);
    expect(midnight(10, dstDay + 1) - midnight(10, dstDay)).toBe(25 * HOUR);
    const from = weekStart;
    const to = weekStart + 7 * DAY;
    const body = await get(ws, 'timeseries', { from: iso(from), to: iso(to), granularity: 'day', metrics: 'events,errors,users', compare: 'previous' });
    expect(body.points).toHaveLength(7);
    expect(body.previous.points).toHaveLength(7);
    // Previous local midnights: the change day is one of them, so the span is 7 days and an hour.
    const prevFrom = midnight(9, 31 + dstDay + 1 - 7); // the Monday before, in October
    expect(body.previousRange).toEqual({ from: iso(prevFrom), to: iso(from) });
    expect(from - prevFrom).toBe(7 * DAY + HOUR);
    const exact = perLocalDay(prevFrom, from);
    body.previous.points.forEach((p: { t: string; events: number }, i: number) => {
      expect(localDay.format(Date.parse(p.t) + HOUR), 'a local midnight').toBe(localDay.format(Date.parse(p.t)));
      expect(localDay.format(Date.parse(p.t))).toBe(localDay.format(Date.parse(body.points[i].t) - 7 * DAY + 12 * HOUR));
      expect(p.events, p.t).toBe(exact.get(localDay.format(Date.parse(p.t))) ?? 0);
    });
    expect(body.previous.points.reduce((s: number, p: { events: number }) => s + p.events, 0)).toBe(events.filter((e) => e.timestamp >= prevFrom && e.timestamp < from).length);
    // The same as asking for the previous week directly.
    const direct = await get(ws, 'timeseries', { from: iso(prevFrom), to: iso(from), granularity: 'day', metrics: 'events,errors,users' });
    expect(body.previous.points).toEqual(direct.points);

    // The summary's previous range is of equal length (7 × 24 h), so it starts an hour into the first previous day.
    const s = await get(ws, 'summary', { from: iso(from), to: iso(to), compare: 'previous' });
    expect(s.previousRange).toEqual({ from: iso(from - 7 * DAY), to: iso(from) });
    expect(s.previous.events).toBe(totals(events, from - 7 * DAY, from).events);
    expect(s.previous.errors).toBe(totals(events, from - 7 * DAY, from).errors);
    expect(s.previous.users).toBe(totals(events, from - 7 * DAY, from).users);
  });

  it('partial days: the same part of the day, whole days earlier', async () => {
    // Noon to noon over three days; moved back three days, so the change day's 25 hours sit inside.
    const from = weekStart + 12 * HOUR;
    const to = from + 3 * DAY;
    const body = await get(ws, 'timeseries', { from: iso(from), to: iso(to), granularity: 'day', metrics: 'events', compare: 'previous' });
    expect(body.points).toHaveLength(4);
    expect(body.previous.points).toHaveLength(4);
    const prevFrom = Date.parse(body.previousRange.from);
    expect(body.previousRange.to).toBe(iso(from));
    // Noon local time, three days before: the wall clock is kept across the change (12:00 EDT is 16:00Z).
    expect(new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(prevFrom)).toBe('12');
    expect(localDay.format(prevFrom)).toBe(localDay.format(from - 3 * DAY));
    const exact = perLocalDay(prevFrom, from);
    body.previous.points.forEach((p: { t: string; events: number }) => expect(p.events, p.t).toBe(exact.get(localDay.format(Date.parse(p.t))) ?? 0));
  });
});

describe('compare: other values and routes', () => {
  it('anything but previous is a 400 naming compare', async () => {
    const ws = await createWorkspace('cmp-bad');
    for (const path of ['summary', 'timeseries']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/${path}?compare=last_year`, { token: ws.keys.read });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.issues[0].path).toBe('compare');
    }
  });
});
