import { mirrorArchiveForSql } from './archived';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';
import { load, makeDataset, sql } from './history-dataset';

const MIN = 60_000;
const HOUR = 60 * MIN;
const now = Date.now();
const T = now - 4 * HOUR;
const at = (m: number) => T + m * MIN;
const iso = (t: number) => new Date(t).toISOString();

type Filters = Record<string, string>;
const qs = (o: Record<string, unknown>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();

async function get(ws: TestWorkspace, path: string, q: Record<string, unknown>) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${qs(q)}`, { token: ws.keys.read });
  expect(res.status, `${path}?${qs(q)} ${res.text}`).toBe(200);
  return res;
}

const ctx = {
  iosDE: { platform: 'iOS', country: 'DE', device: 'mobile', browser: 'Safari', os: 'iOS 18' },
  webUS: { platform: 'Web', country: 'US', device: 'desktop', browser: 'Chrome', os: 'macOS' },
  androidIN: { platform: 'Android', country: 'IN', device: 'mobile', browser: 'Chrome', os: 'Android' },
  webBR: { platform: 'Web', country: 'BR', device: 'desktop', browser: 'Firefox', os: 'Windows' },
  webDE: { platform: 'Web', country: 'DE', device: 'desktop', browser: 'Chrome', os: 'Windows' },
};
const ev = (id: string, type: string, ts: number, userId?: string, room?: string, context: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries({ id, type, timestamp: ts, userId, room, context }).filter(([, v]) => v !== undefined));

/**
 * Presence and other events, in time order (one drain each). Participant sessions:
 * u5 standup [-120, 20] (joined before the usual range), u1 standup [0, 30], u2 standup [5, 40],
 * u3 lobby [50, 55], u1 lobby [60, open), u4 town-hall [101, 110]; room sessions: standup [-120, 40],
 * lobby [50, 55], lobby [60, open), town-hall [100, 115] (room.started … room.finished).
 */
const DRAINS = [
  [ev('p0', 'presence.join', at(-120), 'u5', 'standup', ctx.webDE)],
  [
    ev('p1', 'presence.join', at(0), 'u1', 'standup', ctx.iosDE),
    ev('p2', 'presence.join', at(5), 'u2', 'standup', ctx.webUS),
    ev('e1', 'message.sent', at(10), 'u1', 'standup', ctx.iosDE),
    ev('e2', 'api.call', at(10), 'u2', undefined, ctx.webUS), // no room: belongs to no session
    ev('e3', 'message.sent', at(12), 'u2', 'lobby', ctx.webUS), // a room u2 has no session in
    ev('e7', 'message.sent', at(15), 'u5', 'standup', { ...ctx.webDE, country: 'FR' }),
  ],
  [ev('p10', 'presence.leave', at(20), 'u5', 'standup'), ev('p3', 'presence.leave', at(30), 'u1', 'standup'), ev('p4', 'presence.leave', at(40), 'u2', 'standup')],
  [ev('p5', 'presence.join', at(50), 'u3', 'lobby', ctx.androidIN), ev('p6', 'presence.leave', at(55), 'u3', 'lobby')],
  [ev('e4', 'message.sent', at(56), 'u3', 'lobby', ctx.androidIN), ev('p7', 'presence.join', at(60), 'u1', 'lobby', ctx.iosDE), ev('e5', 'file.uploaded', at(70), 'u1', 'lobby', ctx.iosDE)],
  [
    ev('r1', 'room.started', at(100), undefined, 'town-hall'),
    ev('p8', 'presence.join', at(101), 'u4', 'town-hall', ctx.webBR),
    ev('e6', 'egress_started', at(105), undefined, 'town-hall', { country: 'US' }),
    ev('p9', 'presence.leave', at(110), 'u4', 'town-hall'),
  ],
  [ev('r2', 'room.finished', at(115), undefined, 'town-hall')],
];

const FILTERS = ['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os'] as const;

interface SessionRow { id: number; user_id: string; room: string; joined_at: number; left_at: number | null; platform: string | null }
interface RoomRow { id: number; room: string; started_at: number; ended_at: number | null }
interface EventRow { user_id: string | null; room: string | null; ts: number; type: string; context: string | null }

const eventField = (e: EventRow, k: string) => (k === 'type' ? e.type : k === 'userId' ? e.user_id : k === 'room' ? e.room : (JSON.parse(e.context ?? '{}')[k] ?? null));

/** The documented rule, by brute force over every row: row filters on the row, the rest on one event of the session inside the range. */
function bruteSessions(kind: 'participant' | 'room', rows: Array<SessionRow | RoomRow>, events: EventRow[], from: number, to: number, f: Filters) {
  const rowFields: Record<string, string> = kind === 'participant' ? { room: 'room', userId: 'user_id', platform: 'platform' } : { room: 'room' };
  const evFilters = Object.entries(f).filter(([k]) => !(k in rowFields));
  return rows
    .map((r) => ({ r, start: 'joined_at' in r ? r.joined_at : r.started_at, end: 'joined_at' in r ? r.left_at : r.ended_at }))
    .filter(({ start, end }) => start < to && (end === null || end >= from))
    .filter(({ r }) => Object.entries(f).every(([k, v]) => !(k in rowFields) || (r as any)[rowFields[k]] === v))
    .filter(({ r, start, end }) => !evFilters.length || events.some((e) =>
      e.room === r.room && (kind === 'room' || e.user_id === (r as SessionRow).user_id) && e.ts >= from && e.ts < to && e.ts >= start && (end === null || e.ts <= end)
      && evFilters.every(([k, v]) => eventField(e, k) === v)))
    .sort((a, b) => b.start - a.start || b.r.id - a.r.id)
    .map(({ r }) => r);
}

describe('session reports honour every documented filter', () => {
  let ws: TestWorkspace;
  const from = at(-60);
  const list = async (path: 'sessions' | 'rooms', f: Filters, range: Record<string, unknown> = { from, to: now }) =>
    (await get(ws, path, { ...range, ...f })).json[path] as Array<Record<string, any>>;
  const keys = (sessions: Array<Record<string, any>>) => sessions.map((s) => `${s.userId}@${s.room}@${(Date.parse(s.joinedAt) - T) / MIN}`);
  const roomKeys = (rooms: Array<Record<string, any>>) => rooms.map((r) => `${r.room}@${(Date.parse(r.startedAt) - T) / MIN}`);

  beforeAll(async () => {
    ws = await createWorkspace('filters');
    for (const events of DRAINS) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
      expect(res.status).toBe(202);
      expect(await flush(ws)).toBe(0);
    }
    await mirrorArchiveForSql(ws.id);
  });

  it('sessions: room, userId and platform select by the row; the others by a matching event of the session in the range', async () => {
    const cases: Array<[Filters, string[]]> = [
      [{}, ['u4@town-hall@101', 'u1@lobby@60', 'u3@lobby@50', 'u2@standup@5', 'u1@standup@0', 'u5@standup@-120']],
      [{ room: 'standup' }, ['u2@standup@5', 'u1@standup@0', 'u5@standup@-120']],
      [{ userId: 'u1' }, ['u1@lobby@60', 'u1@standup@0']],
      [{ platform: 'Web' }, ['u4@town-hall@101', 'u2@standup@5', 'u5@standup@-120']],
      [{ type: 'message.sent' }, ['u1@standup@0', 'u5@standup@-120']], // not u2 (other room) nor u3 (after its leave)
      [{ type: 'presence.join' }, ['u4@town-hall@101', 'u1@lobby@60', 'u3@lobby@50', 'u2@standup@5', 'u1@standup@0']], // u5 joined before the range
      [{ type: 'api.call' }, []], // an event without room belongs to no session
      [{ type: 'no.such.type' }, []],
      [{ country: 'DE' }, ['u1@lobby@60', 'u1@standup@0']], // u5's DE join lies before the range
      [{ country: 'FR' }, ['u5@standup@-120']],
      [{ device: 'mobile' }, ['u1@lobby@60', 'u3@lobby@50', 'u1@standup@0']],
      [{ browser: 'Firefox' }, ['u4@town-hall@101']],
      [{ os: 'Android' }, ['u3@lobby@50']],
      [{ type: 'message.sent', country: 'FR' }, ['u5@standup@-120']], // one event matches both
      [{ type: 'message.sent', country: 'IN' }, []],
      [{ platform: 'iOS', type: 'file.uploaded' }, ['u1@lobby@60']],
      [{ room: 'standup', userId: 'u2', os: 'macOS' }, ['u2@standup@5']],
    ];
    for (const [f, expected] of cases) expect(keys(await list('sessions', f)), JSON.stringify(f)).toEqual(expected);
    // A range holding u5's join: its DE join now counts.
    expect(keys(await list('sessions', { country: 'DE', platform: 'Web' }, { from: at(-180), to: now }))).toEqual(['u5@standup@-120']);
    expect(keys(await list('sessions', { country: 'DE', platform: 'Web' }))).toEqual([]);
    // The rows themselves are unchanged by filtering.
    const [u1] = await list('sessions', { userId: 'u1', type: 'file.uploaded' });
    expect(u1).toMatchObject({ userId: 'u1', room: 'lobby', joinedAt: iso(at(60)), leftAt: null, platform: 'iOS' });
  });

  it('rooms: room selects by the row; every other filter by a matching event naming the room during it, in the range', async () => {
    const cases: Array<[Filters, string[]]> = [
      [{}, ['town-hall@100', 'lobby@60', 'lobby@50', 'standup@-120']],
      [{ room: 'lobby' }, ['lobby@60', 'lobby@50']],
      [{ userId: 'u1' }, ['lobby@60', 'standup@-120']],
      [{ type: 'egress_started' }, ['town-hall@100']], // an event without a user still counts for its room
      [{ country: 'US' }, ['town-hall@100', 'standup@-120']], // not lobby: u2's lobby message came before either lobby session
      [{ platform: 'Android' }, ['lobby@50']],
      [{ device: 'desktop' }, ['town-hall@100', 'standup@-120']],
      [{ browser: 'Safari' }, ['lobby@60', 'standup@-120']],
      [{ os: 'macOS' }, ['standup@-120']],
      [{ userId: 'u2', country: 'US' }, ['standup@-120']],
      [{ userId: 'u4', type: 'egress_started' }, []], // one event must match both
    ];
    for (const [f, expected] of cases) expect(roomKeys(await list('rooms', f)), JSON.stringify(f)).toEqual(expected);
    // Filters choose room sessions; the figures stay the whole session's.
    const [standup] = await list('rooms', { userId: 'u2' });
    expect(standup).toMatchObject({ room: 'standup', startedAt: iso(at(-120)), endedAt: iso(at(40)), participants: 3, maxParticipants: 3 });
  });

  it('sessions and rooms equal the brute-force rule for every filter, alone and in pairs, over several ranges', async () => {
    const sessions = await sql<SessionRow>('SELECT id, user_id, room, joined_at, left_at, platform FROM participant_sessions WHERE workspace_id = ?', ws.id);
    const rooms = await sql<RoomRow>('SELECT id, room, started_at, ended_at FROM room_sessions WHERE workspace_id = ?', ws.id);
    const events = await sql<EventRow>('SELECT user_id, room, ts, type, context FROM events WHERE workspace_id = ?', ws.id);
    const values: Record<string, string[]> = {
      type: ['message.sent', 'presence.join', 'presence.leave'], room: ['standup', 'lobby'], userId: ['u1', 'u5'], country: ['DE', 'US'],
      platform: ['Web', 'iOS'], device: ['mobile'], browser: ['Chrome'], os: ['Windows'],
    };
    const sets: Filters[] = [{}];
    for (const k of FILTERS) for (const v of values[k]) sets.push({ [k]: v });
    sets.push({ type: 'message.sent', room: 'standup' }, { country: 'DE', device: 'mobile' }, { userId: 'u1', browser: 'Safari' }, { platform: 'Web', country: 'DE' });
    const ranges = [[at(-60), now], [at(-180), now], [at(12), at(58)], [at(-130), at(15) + 1]];
    for (const [rf, rt] of ranges) {
      for (const f of sets) {
        const api = await list('sessions', f, { from: rf, to: rt });
        const exact = bruteSessions('participant', sessions, events, rf, rt, f) as SessionRow[];
        expect(api.map((s) => [s.userId, s.room, Date.parse(s.joinedAt)]), `sessions ${JSON.stringify(f)} [${rf}, ${rt})`).toEqual(exact.map((s) => [s.user_id, s.room, s.joined_at]));
        const apiRooms = await list('rooms', f, { from: rf, to: rt });
        const exactRooms = bruteSessions('room', rooms, events, rf, rt, f) as RoomRow[];
        expect(apiRooms.map((r) => [r.room, Date.parse(r.startedAt)]), `rooms ${JSON.stringify(f)} [${rf}, ${rt})`).toEqual(exactRooms.map((r) => [r.room, r.started_at]));
      }
    }
  });

  it('summary.avgSessionSeconds applies the same filters (ended sessions started in the range)', async () => {
    // Ended sessions started in the range: u1 standup 30 min, u2 standup 35, u3 lobby 5, u4 town-hall 9.
    const cases: Array<[Filters, number | null]> = [
      [{}, (1800 + 2100 + 300 + 540) / 4],
      [{ room: 'standup' }, (1800 + 2100) / 2],
      [{ userId: 'u1' }, 1800],
      [{ platform: 'Web' }, (2100 + 540) / 2],
      [{ type: 'message.sent' }, 1800],
      [{ country: 'IN' }, 300],
      [{ device: 'desktop' }, (2100 + 540) / 2],
      [{ browser: 'Firefox' }, 540],
      [{ os: 'Android' }, 300],
      [{ type: 'api.call' }, null],
      [{ room: 'lobby', country: 'DE' }, null], // u1's lobby session has not ended
    ];
    for (const [f, expected] of cases) {
      const summary = (await get(ws, 'stats/summary', { from, to: now, ...f })).json;
      if (expected === null) expect(summary.avgSessionSeconds, JSON.stringify(f)).toBeNull();
      else expect(summary.avgSessionSeconds, JSON.stringify(f)).toBeCloseTo(expected, 6);
    }
  });

  it('a filter that needs raw events from before the raw retention answers 400 naming it; row filters still answer', async () => {
    const short = await createWorkspace('filters-ret', { retentionDays: 1 });
    const status = async (path: string, q: string) => {
      const res = await call('GET', `/api/v1/workspaces/${short.slug}/${path}?${q}`, { token: short.keys.read });
      return { status: res.status, json: res.json };
    };
    for (const [path, q, param] of [
      ['sessions', 'range=7d&country=DE', 'country'],
      ['sessions', 'type=message.sent', 'type'], // the default range is 30 days
      ['sessions', `from=${now - 2 * 24 * HOUR}&os=iOS`, 'os'],
      ['rooms', 'range=7d&userId=u1', 'userId'],
      ['rooms', 'range=30d&room=lobby&platform=Web', 'platform'],
    ] as const) {
      const res = await status(path, q);
      expect(res.status, `${path}?${q}`).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.issues[0].path).toBe(param);
      expect(res.json.error.message).toMatch(/keeps raw events 1 day;/);
    }
    for (const [path, q] of [
      ['sessions', 'range=7d&platform=iOS&room=lobby&userId=u1'],
      ['sessions', 'range=24h&country=DE'],
      ['rooms', 'range=7d&room=lobby'],
      ['rooms', 'range=today&userId=u1'],
    ]) expect((await status(path, q)).status, `${path}?${q}`).toBe(200);
    // Bad filter values are 400 too, never a 5xx.
    expect((await status('sessions', `type=${'x'.repeat(65)}`)).status).toBe(400);
    expect((await status('rooms', 'range=7d&from=1700000000000&country=DE')).status).toBe(400);
  });

  it('the OpenAPI document lists every filter on sessions, rooms and metrics and says how each applies', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    for (const p of ['sessions', 'rooms', 'metrics']) {
      const op = doc.paths[`/api/v1/workspaces/{ws}/${p}`].get;
      const names = op.parameters.filter((x: any) => x.in === 'query').map((x: any) => x.name);
      for (const f of [...FILTERS, 'range', 'from', 'to']) expect(names, `${p} ${f}`).toContain(f);
    }
    expect(doc.paths['/api/v1/workspaces/{ws}/sessions'].get.description).toMatch(/`platform` are the session’s own.*400/s);
    expect(doc.paths['/api/v1/workspaces/{ws}/rooms'].get.description).toMatch(/`room` is the session’s own/);
    expect(doc.paths['/api/v1/workspaces/{ws}/stats/summary'].get.description).toMatch(/avgSessionSeconds.*`platform` are the session’s own/);
    expect(doc.paths['/api/v1/workspaces/{ws}/metrics'].get.description).toMatch(/summary for the same query/);
  });
});

describe('/metrics takes the range and filters of the other reports', () => {
  let ws: TestWorkspace;
  let from: number;
  const to = now - 7_777;

  beforeAll(async () => {
    ws = await createWorkspace('filters-metrics', { timezone: 'Europe/Berlin' });
    const ds = makeDataset('Europe/Berlin', now, 1200);
    from = ds.from + 12_345;
    // Three users online now, for the filtered online gauge.
    const recent = ['a', 'b', 'c'].map((u, i) => ({ id: `now-${u}`, type: 'message.sent', userId: `online-${u}`, timestamp: now - 30_000 + i }));
    await load(ws, [...ds.events, ...recent]);
  }, 120_000);

  async function metrics(q: Record<string, unknown>) {
    const res = await get(ws, 'metrics', q);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(res.text);
    return (name: string) => families.find((f) => f.name === name);
  }

  function where(f: Filters) {
    const parts = ['workspace_id = ?', 'ts >= ?', 'ts < ?'];
    const binds: unknown[] = [ws.id, from, to];
    for (const [k, v] of Object.entries(f)) {
      parts.push(`${k === 'userId' ? 'user_id' : k === 'type' || k === 'room' ? k : `json_extract(context, '$.${k}')`} = ?`);
      binds.push(v);
    }
    return { w: parts.join(' AND '), binds };
  }

  it('counters and the histogram equal the summary, the breakdown by type and brute-force SQL of the same query', async () => {
    const sets: Filters[] = [{}, { type: 'api.call' }, { room: 'lobby' }, { country: 'DE', platform: 'iOS' }, { userId: 'user-3' }, { device: 'mobile' }];
    let unfiltered = -1;
    for (const f of sets) {
      const q = { from, to, ...f };
      const fam = await metrics(q);
      const summary = (await get(ws, 'stats/summary', q)).json;
      const byType = (await get(ws, 'stats/breakdown', { ...q, by: 'type', limit: 100 })).json;
      const events = fam('edgepulse_events_total')!.metrics;
      const label = JSON.stringify(f);
      expect(events.reduce((s, m) => s + Number(m.value), 0), label).toBe(summary.events);
      expect(Object.fromEntries(events.map((m) => [m.labels.type, Number(m.value)])), label).toEqual(Object.fromEntries(byType.rows.map((r: any) => [r.key, r.events])));
      expect(fam('edgepulse_errors_total')!.metrics.reduce((s, m) => s + Number(m.value), 0), label).toBe(summary.errors);
      expect(Number(fam('edgepulse_bytes_in_total')!.metrics[0].value), label).toBe(summary.bytesIn);
      expect(Number(fam('edgepulse_bytes_out_total')!.metrics[0].value), label).toBe(summary.bytesOut);
      const { w, binds } = where(f);
      const [exact] = await sql<{ events: number; n: number; sum: number | null }>(`SELECT count(*) AS events, count(duration_ms) AS n, sum(duration_ms) AS sum FROM events WHERE ${w}`, ...binds);
      expect(summary.events, label).toBe(exact.events);
      const hist = fam('edgepulse_duration_ms')!.metrics[0];
      expect(Number(hist.count), label).toBe(exact.n);
      expect(Number(hist.sum), label).toBeCloseTo(exact.sum ?? 0, 3);
      expect(Number(hist.buckets['+Inf']), label).toBe(exact.n);
      // Each filter changes the answer: fewer events than the unfiltered range.
      if (unfiltered >= 0) expect(exact.events, label).toBeLessThan(unfiltered);
      else unfiltered = exact.events;
      expect(exact.events, label).toBeGreaterThan(0);
    }
  });

  it('a range alone keeps the live gauges; a filter counts online users from matching history and leaves out live connections', async () => {
    const total = async (where: string, ...binds: unknown[]) => (await sql<{ n: number }>(`SELECT count(*) AS n FROM events WHERE workspace_id = ? ${where}`, ws.id, ...binds))[0].n;
    const sum = (fam: Awaited<ReturnType<typeof metrics>>) => fam('edgepulse_events_total')!.metrics.reduce((s, m) => s + Number(m.value), 0);
    const week = await metrics({ from: now - 7 * 24 * HOUR, to: now });
    expect(week('edgepulse_live_connections')?.type).toBe('GAUGE');
    expect(week('edgepulse_online_users')?.type).toBe('GAUGE');
    expect(sum(week)).toBe(await total('AND ts >= ? AND ts < ?', now - 7 * 24 * HOUR, now));
    expect(sum(await metrics({ range: '90d' }))).toBe(await total(''));

    const t1 = Date.now();
    const filtered = await metrics({ type: 'message.sent' });
    const t2 = Date.now();
    expect(filtered('edgepulse_live_connections')).toBeUndefined();
    // Users with a message.sent in the 5 minutes before the request's now, which lies in [t1, t2].
    const distinct = async (lo: number, hi: number) =>
      (await sql<{ n: number }>(`SELECT count(DISTINCT user_id) AS n FROM events WHERE workspace_id = ? AND type = 'message.sent' AND ts >= ? AND ts <= ?`, ws.id, lo, hi))[0].n;
    const [lo, hi] = [await distinct(t2 - 5 * MIN, t1), await distinct(t1 - 5 * MIN, t2)];
    expect(lo).toBeGreaterThanOrEqual(3);
    const users = Number(filtered('edgepulse_online_users')!.metrics[0].value);
    expect(users).toBeGreaterThanOrEqual(Math.floor(lo * 0.98));
    expect(users).toBeLessThanOrEqual(Math.ceil(hi * 1.02));

    // Without parameters: all history, as before.
    const all = await metrics({});
    expect(sum(all)).toBe(await total(''));
    expect(all('edgepulse_live_connections')?.type).toBe('GAUGE');
    // A filter without a range counts from the beginning too.
    expect((await metrics({ type: 'api.call' }))('edgepulse_events_total')!.metrics.map((m) => Number(m.value))).toEqual([await total(`AND type = 'api.call'`)]);
  });

  it('bad report parameters on /metrics answer 400', async () => {
    for (const q of ['range=12d', 'from=nonsense', `from=${now}&to=${now - 1000}`, 'range=7d&from=1700000000000', `type=${'x'.repeat(65)}`]) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/metrics?${q}`, { token: ws.keys.read });
      expect(res.status, q).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
    }
  });
});
