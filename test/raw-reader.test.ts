import { env, runInDurableObject } from 'cloudflare:test';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArchiveRange, writeArchiveBatch, type ArchiveBucket } from '../src/archive';
import type { NormalizedEvent } from '../src/ingest/types';
import type { DrainHost } from '../src/live/drain';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { call, createWorkspace, flush, hub, type TestWorkspace } from './helpers';
import { rng } from './history-dataset';

const HOUR = 3_600_000;
const now = Date.now();
/** Six whole UTC hours, ending two hours ago: several hour partitions, none of them the current one. */
const START = Math.floor(now / HOUR) * HOUR - 8 * HOUR;
const END = START + 6 * HOUR;

type Sent = {
  id: string; type: string; timestamp: number; userId?: string; sessionId?: string; room?: string; durationMs?: number;
  bytesIn?: number; value?: number; error?: string; properties: Record<string, string | number>; context: Record<string, string>;
};

function dataset(n: number): Sent[] {
  const r = rng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: Sent[] = [];
  for (let i = 0; i < n; i++) {
    // Some events share a millisecond: the (ts, id) order and cursor must still hold.
    const ts = i % 10 === 0 && i > 0 ? out[i - 1]!.timestamp : START + Math.floor(r() * 6 * HOUR);
    const e: Sent = {
      id: `rr-${String(i).padStart(4, '0')}`, type: pick(['page.view', 'api.call', 'message.sent']), timestamp: ts,
      properties: r() < 0.8 ? { plan: pick(['free', 'pro', 'team']), seats: pick([1, 5, 20]) } : {},
      context: { country: pick(['DE', 'US', 'IN']), platform: pick(['Web', 'iOS']), os: pick(['macOS', 'iOS 18']), browser: pick(['Chrome', 'Safari']), device: pick(['desktop', 'mobile']) },
    };
    if (r() < 0.9) e.userId = `user-${Math.floor(r() * 40)}`;
    if (r() < 0.8) e.sessionId = `s-${Math.floor(r() * 90)}`;
    if (r() < 0.6) e.room = pick(['standup', 'lobby']);
    if (r() < 0.5) e.durationMs = Math.round(r() * 5000) / 10;
    if (r() < 0.5) e.bytesIn = Math.floor(r() * 9000);
    if (r() < 0.4) e.value = Math.floor(r() * 300) - 50;
    if (r() < 0.1) e.error = pick(['timeout', 'crash']);
    out.push(e);
  }
  return out;
}

type Filter = Partial<Record<'type' | 'room' | 'userId' | 'country' | 'platform' | 'os' | 'browser' | 'device', string>> & { props?: Record<string, string>; errorsOnly?: boolean };

function matches(e: Sent, f: Filter, from: number, to: number): boolean {
  if (e.timestamp < from || e.timestamp >= to) return false;
  for (const k of ['type', 'room', 'userId'] as const) if (f[k] !== undefined && e[k] !== f[k]) return false;
  for (const k of ['country', 'platform', 'os', 'browser', 'device'] as const) if (f[k] !== undefined && e.context[k] !== f[k]) return false;
  for (const [k, v] of Object.entries(f.props ?? {})) if (e.properties[k] === undefined || String(e.properties[k]) !== v) return false;
  if (f.errorsOnly && e.error === undefined) return false;
  return true;
}

function query(f: Filter, extra: Record<string, string | number> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (k !== 'props' && k !== 'errorsOnly') q.set(k, String(v));
  for (const [k, v] of Object.entries(f.props ?? {})) q.set(`property.${k}`, v);
  if (f.errorsOnly) q.set('errorsOnly', 'true');
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  return q.toString();
}

let ws: TestWorkspace;
let sent: Sent[];
const get = async (path: string) => {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}`, { token: ws.keys.read });
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  return res;
};

/** Every page of the event log, following nextCursor. */
async function eventLog(f: Filter, from: number, to: number, limit: number) {
  const out: Array<{ id: string; timestamp: string }> = [];
  let cursor: string | null = null;
  do {
    const res = await get(`events?${query(f, { from, to, limit, ...(cursor ? { cursor } : {}) })}`);
    expect(res.json.events.length).toBeLessThanOrEqual(limit);
    out.push(...res.json.events);
    cursor = res.json.nextCursor;
  } while (cursor);
  return out;
}

const newestFirst = (a: Sent, b: Sent) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1);

/** The hub's drain host, whose bucket a test can swap for a fault injector. */
const withHost = <T>(fn: (host: DrainHost) => T) =>
  runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => fn((instance as unknown as { drain: { host: DrainHost } }).drain.host));

/** A bucket whose puts fail (after storing the object when `store` is set): the drain fails and the outbox keeps its batches. */
function failingPuts(bucket: ArchiveBucket, store: boolean): ArchiveBucket {
  return {
    get: bucket.get.bind(bucket), head: bucket.head.bind(bucket), list: bucket.list.bind(bucket), delete: bucket.delete.bind(bucket),
    put: (async (...args: Parameters<ArchiveBucket['put']>) => {
      if (store) await bucket.put(...args);
      throw new Error('R2 unreachable (test)');
    }) as ArchiveBucket['put'],
  };
}

describe('raw questions read the archive and the outbox, not D1', () => {
  beforeAll(async () => {
    ws = await createWorkspace('raw');
    sent = dataset(900);
    for (let i = 0; i < sent.length; i += 300) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: sent.slice(i, i + 300) } });
      expect(res.status).toBe(202);
      expect(await flush(ws)).toBe(0);
    }
    // The answers below cannot come from D1's raw rows: there are none.
    await env.DB.prepare('DELETE FROM events WHERE workspace_id = ?').bind(ws.id).run();
  }, 120_000);

  it('the event log pages newest first by (ts, id), with every filter, and equals brute force', async () => {
    const cases: Array<[Filter, number, number, number]> = [
      [{}, START, END, 97],
      [{ type: 'api.call', country: 'DE' }, START, END, 13],
      [{ room: 'lobby', platform: 'iOS', props: { plan: 'pro' } }, START + 1234, END - 4321, 7],
      [{ props: { seats: '20' }, errorsOnly: true }, START, END, 5],
      [{ userId: 'user-3', browser: 'Safari' }, START + 90 * 60_000 + 17, START + 4 * HOUR + 999, 4],
    ];
    for (const [f, from, to, limit] of cases) {
      const want = sent.filter((e) => matches(e, f, from, to)).sort(newestFirst).map((e) => e.id);
      const got = (await eventLog(f, from, to, limit)).map((e) => e.id);
      expect(got, JSON.stringify(f)).toEqual(want);
    }
    // A page's events are whole: the stored event, context and properties included.
    const [first] = (await get(`events?${query({}, { from: START, to: END, limit: 1 })}`)).json.events;
    const e = [...sent].sort(newestFirst)[0]!;
    expect(first).toMatchObject({ id: e.id, type: e.type, timestamp: new Date(e.timestamp).toISOString(), properties: e.properties, context: e.context });
  });

  it('a cursor that is not one of ours is a 400', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?cursor=bm90LWEtY3Vyc29y`, { token: ws.keys.read });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
  });

  it('exports NDJSON, CSV and one Parquet file of the range, oldest first, equal to brute force', async () => {
    const f: Filter = { platform: 'Web', props: { plan: 'free' } };
    const from = START + 30 * 60_000 + 5;
    const to = END - 7;
    const want = sent.filter((e) => matches(e, f, from, to)).sort((a, b) => -newestFirst(a, b));
    expect(want.length).toBeGreaterThan(20);

    const nd = await get(`export?${query(f, { from, to, format: 'ndjson' })}`);
    const lines = nd.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(want.map((e) => e.id));
    expect(lines[0]).toMatchObject({ properties: want[0]!.properties, context: want[0]!.context, timestamp: new Date(want[0]!.timestamp).toISOString() });

    const csv = await get(`export?${query(f, { from, to, format: 'csv' })}`);
    const rows = csv.text.trim().split('\r\n');
    expect(rows.length).toBe(want.length + 1);
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(want.map((e) => e.id));

    const pq = await get(`export?${query({}, { from: START, to: END, format: 'parquet' })}`);
    expect(pq.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(pq.headers.get('content-disposition')).toMatch(/attachment; filename=".*\.parquet"/);
    const bytes = await (await fetchRaw(`export?${query(f, { from, to, format: 'parquet' })}`)).arrayBuffer();
    const meta = parquetMetadata(bytes);
    expect(meta.schema.slice(1).map((s) => s.name)).toEqual(['id', 'ts', 'received_at', 'type', 'user_id', 'session_id', 'room', 'duration_ms', 'bytes_in', 'bytes_out', 'error', 'value', 'country', 'platform', 'os', 'browser', 'device', 'connection_type', 'properties', 'context', 'gauges']);
    const parsed = await parquetReadObjects({ file: bytes, parsers: { timestampFromMilliseconds: (ms: bigint) => Number(ms) } });
    expect(parsed.map((r) => r.id)).toEqual(want.map((e) => e.id));
    expect(parsed.map((r) => r.ts)).toEqual(want.map((e) => e.timestamp));
    expect(parsed.reduce((s, r) => s + (r.value ?? 0), 0)).toBe(want.reduce((s, e) => s + (e.value ?? 0), 0));
    expect(parsed.map((r) => (r.bytes_in === null ? null : Number(r.bytes_in)))).toEqual(want.map((e) => e.bytesIn ?? null));

    // The whole range, every row group: the file parses, counts equal.
    const all = await parquetReadObjects({ file: await (await fetchRaw(`export?${query({}, { from: START, to: END, format: 'parquet' })}`)).arrayBuffer(), columns: ['id'] });
    expect(all.length).toBe(sent.length);
  });

  it('raw-reading reports (by userId, by property, several dimensions, sub-minute edges) equal brute force', async () => {
    const from = START + 17 * 60_000 + 321;
    const to = END - 59_000 - 7;
    for (const f of [{}, { room: 'standup', country: 'US' }, { props: { plan: 'team' } }, { platform: 'iOS', os: 'iOS 18', type: 'page.view' }] as Filter[]) {
      const mine = sent.filter((e) => matches(e, f, from, to));
      const summary = (await get(`stats/summary?${query(f, { from, to })}`)).json;
      expect(summary.events, JSON.stringify(f)).toBe(mine.length);
      expect(summary.errors).toBe(mine.filter((e) => e.error).length);
      expect(summary.bytesIn).toBe(mine.reduce((s, e) => s + (e.bytesIn ?? 0), 0));
      expect(summary.value).toBe(mine.reduce((s, e) => s + (e.value ?? 0), 0));
      for (const [by, keyOf] of [['userId', (e: Sent) => e.userId], ['property:plan', (e: Sent) => e.properties.plan as string | undefined], ['country', (e: Sent) => e.context.country]] as const) {
        const exact = new Map<string, number>();
        for (const e of mine) {
          const k = keyOf(e);
          if (k !== undefined) exact.set(k, (exact.get(k) ?? 0) + 1);
        }
        const rows = (await get(`stats/breakdown?${query(f, { from, to, by, limit: 1000 })}`)).json.rows as Array<{ key: string; events: number }>;
        expect(new Map(rows.map((r) => [r.key, r.events])), `${by} ${JSON.stringify(f)}`).toEqual(exact);
      }
    }
    // With a filter, /users reads raw events of exactly the range (without one, whole days of per-user rollups).
    const usersFilter = { type: 'page.view' };
    const users = (await get(`users?${query(usersFilter, { from, to, limit: 5 })}`)).json.users as Array<{ userId: string; events: number; lastSeen: string }>;
    const counts = new Map<string, Sent[]>();
    for (const e of sent.filter((x) => matches(x, usersFilter, from, to) && x.userId)) counts.set(e.userId!, [...(counts.get(e.userId!) ?? []), e]);
    const top = [...counts].sort(([ia, a], [ib, b]) => b.length - a.length || Math.max(...b.map((e) => e.timestamp)) - Math.max(...a.map((e) => e.timestamp)) || (ia < ib ? -1 : 1)).slice(0, 5);
    expect(users.map((u) => [u.userId, u.events])).toEqual(top.map(([id, es]) => [id, es.length]));
  });

  it('an acknowledged event not yet drained is listed, exported and counted; one in both archive and outbox counts once', async () => {
    const t = START + 3 * HOUR + 1;
    const base = { type: 'outbox.test', timestamp: t, userId: 'late', properties: {}, context: {} };
    // late-a: its drain's put fails outright. late-b: sent later; the drain retried first is late-a's (same batches), whose
    // object is now stored before the put "fails" — so late-a is archived AND still in the outbox, late-b only in the outbox.
    for (const [id, store] of [['late-a', false], ['late-b', true]] as const) {
      await withHost((host) => {
        host.bucket = failingPuts(host.bucket, store);
      });
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { ...base, id } });
      expect(res.status).toBe(202);
      expect(await flush(ws)).toBeGreaterThan(0); // the drain failed: the batch waits in the outbox
      await withHost((host) => {
        host.bucket = env.ARCHIVE;
      });
    }
    // The setting this test is about: both still in the outbox, late-a in the archive too.
    expect((await hub(ws.id).usage()).pendingBatches).toBe(2);
    const archivedIds: string[] = [];
    for await (const rows of readArchiveRange(env.ARCHIVE, ws.id, START, END, ['id', 'type'])) archivedIds.push(...rows.filter((r) => r.type === 'outbox.test').map((r) => r.id!));
    expect(archivedIds).toEqual(['late-a']);
    const log = await eventLog({ type: 'outbox.test' }, START, END, 1);
    expect(log.map((e) => e.id)).toEqual(['late-b', 'late-a']);
    const nd = (await get(`export?${query({ type: 'outbox.test' }, { from: START, to: END })}`)).text.trim().split('\n').map((l) => JSON.parse(l).id);
    expect(nd).toEqual(['late-a', 'late-b']);
    const summary = (await get(`stats/summary?${query({ userId: 'late' }, { from: START, to: END })}`)).json;
    expect(summary.events).toBe(2);
    const byUser = (await get(`stats/breakdown?${query({}, { from: START, to: END, by: 'userId', limit: 1000 })}`)).json.rows as Array<{ key: string; events: number }>;
    expect(byUser.find((r) => r.key === 'late')?.events).toBe(2);
    // Drained now: still exactly once each.
    expect(await flush(ws)).toBe(0);
    expect((await eventLog({ type: 'outbox.test' }, START, END, 10)).map((e) => e.id)).toEqual(['late-b', 'late-a']);
  });
});

describe('the event log over files of many row groups', () => {
  it('reads row groups newest first and pages exactly as brute force, across hours and parts', async () => {
    const other = await createWorkspace('raw-groups');
    const r = rng(11);
    const events: NormalizedEvent[] = Array.from({ length: 700 }, (_, i) => ({
      id: `g-${String(i).padStart(4, '0')}`, type: i % 3 ? 'a' : 'b', ts: START + Math.floor(r() * 2 * HOUR), receivedAt: now,
      userId: `u${i % 9}`, sessionId: null, room: null, durationMs: null, bytesIn: null, bytesOut: null, error: null, value: i,
      properties: {}, context: {},
    }));
    // Two parts per hour (as before compaction), each split into row groups of 40 rows.
    await writeArchiveBatch(env.ARCHIVE, other.id, 'part-one', events.slice(0, 500), { rowGroupRows: 40 });
    await writeArchiveBatch(env.ARCHIVE, other.id, 'part-two', events.slice(500), { rowGroupRows: 40 });
    for (const [type, limit] of [[undefined, 33], ['b', 7]] as const) {
      const want = events.filter((e) => type === undefined || e.type === type).sort((a, b) => b.ts - a.ts || (a.id < b.id ? 1 : -1)).map((e) => e.id);
      const got: string[] = [];
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams({ from: String(START), to: String(END), limit: String(limit), ...(type ? { type } : {}), ...(cursor ? { cursor } : {}) });
        const res = await call('GET', `/api/v1/workspaces/${other.slug}/events?${q}`, { token: other.keys.read });
        expect(res.status, res.text).toBe(200);
        got.push(...res.json.events.map((e: { id: string }) => e.id));
        cursor = res.json.nextCursor;
      } while (cursor);
      expect(got).toEqual(want);
    }
  });
});

async function fetchRaw(path: string): Promise<Response> {
  const { exports } = await import('cloudflare:workers');
  return exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/${path}`, { headers: { authorization: `Bearer ${ws.keys.read}` } });
}
