import { env, runInDurableObject } from 'cloudflare:test';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, hub, type TestWorkspace } from './helpers';

// The bounds of API.md, and what a client may send right at them.
const MAX_BYTES = 2 ** 53 - 1;
const MAX_DURATION = 1e10;
const MAX_VALUE = 1e15;
const gaugesAt = (x: number) => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`g${i}.level`, i % 2 ? x : -x]));

const WH_SECRET = `whsec_${btoa('edgepulse-poison-test-webhook-key!!')}`;
const LK_KEY = 'APIpoison';
const LK_SECRET = 'lk-poison-secret-0123456789abcdefghijklmnop';
const signer = new Webhook(WH_SECRET);
let seq = 0;

/** Every ingest door of API.md, as a client of it calls it. */
const door = {
  single: (ws: TestWorkspace, e: unknown) => call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: e }),
  batch: (ws: TestWorkspace, events: unknown[]) => call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } }),
  collect: (ws: TestWorkspace, e: unknown) =>
    call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, { rawBody: JSON.stringify(e), headers: { 'content-type': 'text/plain;charset=UTF-8' } }),
  segmentBatch: (ws: TestWorkspace, batch: unknown[]) =>
    call('POST', '/v1/batch', { body: { batch }, headers: { authorization: `Basic ${btoa(`${ws.keys.ingest}:`)}` } }),
  segmentTrack: (ws: TestWorkspace, message: unknown) =>
    call('POST', '/v1/track', { body: message, headers: { authorization: `Basic ${btoa(`${ws.keys.ingest}:`)}` } }),
  standard: (ws: TestWorkspace, id: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const at = new Date();
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signer.sign(id, at, body) };
    return call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/standard`, { rawBody: body, headers });
  },
  livekit: async (ws: TestWorkspace, event: string, fields: Record<string, unknown>) => {
    const msg = new WebhookEvent({ id: `EV_poison_${seq++}`, createdAt: BigInt(Math.floor(Date.now() / 1000)), ...fields } as never);
    msg.event = event as WebhookEvent['event'];
    const body = msg.toJsonString();
    const token = new AccessToken(LK_KEY, LK_SECRET, { ttl: '5m' });
    token.sha256 = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)))));
    return call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/livekit`, { rawBody: body, headers: { 'content-type': 'application/webhook+json', authorization: await token.toJwt() } });
  },
};

async function poisonWorkspace(prefix: string): Promise<TestWorkspace> {
  const ws = await createWorkspace(prefix);
  const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { webhookSecret: WH_SECRET, livekit: { apiKey: LK_KEY, apiSecret: LK_SECRET } } });
  expect(patch.status, patch.text).toBe(200);
  return ws;
}

const rowsOf = (ws: TestWorkspace) => archivedCount(ws.id);
const close = (got: number, want: number, scale = Math.abs(want)) => expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(scale * 1e-9);

/** Every number in an answer is finite, and no prototype value (a function, "[object Object]") leaked into it. */
function expectSane(value: unknown, where: string): void {
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'number') expect(Number.isFinite(v), `${where} ${path} = ${v}`).toBe(true);
    else if (typeof v === 'string') expect(v, `${where} ${path}`).not.toMatch(/\[object |native code|^function /);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}.${i}`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(value, '');
}

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];
const METRICS = 'events,users,sessions,errors,errorRate,bytesIn,bytesOut,value,durationAvg,durationP50,durationP95,durationP99';

/** Every report, export and read of the workspace, plain and filtered: 200 with finite numbers. Returns the answers by path. */
async function everyReport(ws: TestWorkspace, filter = ''): Promise<Map<string, any>> {
  const base = `/api/v1/workspaces/${ws.slug}`;
  // Names of Object.prototype are asked once, unfiltered; filtered passes ask the other reports.
  const protoNames = filter ? [] : PROTO_NAMES;
  const paths = [
    `/stats/summary?range=24h`,
    `/stats/timeseries?range=24h&granularity=minute&metrics=${METRICS}`,
    `/stats/timeseries?range=24h&granularity=hour&metrics=${METRICS}`,
    `/stats/timeseries?range=7d&granularity=day&metrics=${METRICS}`,
    ...['type', 'room', 'userId', 'platform', 'error', 'property:plan', 'property:nope', ...protoNames.map((n) => `property:${n}`)].map((by) => `/stats/breakdown?range=24h&by=${encodeURIComponent(by)}&limit=1000`),
    `/users?range=24h&limit=1000`,
    `/users/u-extreme?range=24h`,
    ...protoNames.map((n) => `/users/${encodeURIComponent(n)}?range=24h`),
    `/sessions?range=24h`,
    `/rooms?range=24h`,
    `/events?limit=1000`,
  ];
  const out = new Map<string, any>();
  for (const p of paths) {
    const sep = p.includes('?') ? '&' : '?';
    const url = `${base}${p}${filter && !p.startsWith('/users/') && !p.startsWith('/rooms') ? `${sep}${filter}` : ''}`;
    const res = await call('GET', url, { token: ws.keys.read });
    // A user no one is answers 404 like any unknown user; everything else 200.
    if (p.startsWith('/users/') && p !== '/users/u-extreme?range=24h') expect(res.status, `${url}: ${res.text}`).toBe(404);
    else expect(res.status, `${url}: ${res.text.slice(0, 500)}`).toBe(200);
    expectSane(res.json, url);
    out.set(p, res.json);
  }
  for (const format of ['csv', 'ndjson']) {
    const url = `${base}/export?range=24h&format=${format}${filter ? `&${filter}` : ''}`;
    const res = await call('GET', url, { token: ws.keys.read });
    expect(res.status, `${url}: ${res.text.slice(0, 300)}`).toBe(200);
    if (format === 'ndjson') {
      const lines = res.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      lines.forEach((l) => expectSane(l, url));
      out.set(`/export?format=ndjson`, lines);
    }
  }
  const metrics = await call('GET', `${base}/metrics${filter ? `?${filter}` : ''}`, { token: ws.keys.read });
  expect(metrics.status, metrics.text).toBe(200);
  const families = parsePrometheusTextFormat(metrics.text);
  for (const f of families) {
    for (const m of f.metrics as Array<{ value?: string; buckets?: Record<string, string>; sum?: string; count?: string }>) {
      for (const v of [m.value, m.sum, m.count, ...Object.values(m.buckets ?? {})]) if (v !== undefined) expect(Number.isFinite(Number(v)), `${f.name} ${v}`).toBe(true);
    }
  }
  out.set('/metrics', families);
  const live = await call('GET', `${base}/live`, { token: ws.keys.read });
  expect(live.status).toBe(200);
  expectSane(live.json, 'live');
  out.set('/live', live.json);
  return out;
}

describe('numbers past their bounds are a 400 at every door, and nothing of the request is kept', () => {
  let ws: TestWorkspace;
  beforeAll(async () => {
    ws = await poisonWorkspace('poison-door');
  });

  it('names the field for events (single and batch), collect, Segment batch and track, and Standard Webhooks', async () => {
    const ok = (id: string) => ({ id, type: 'door.ok', userId: 'u1', durationMs: 5 });
    const batchWith = (at: number, bad: Record<string, unknown>) => Array.from({ length: 5 }, (_, i) => (i === at ? { ...ok(`bad-${seq++}`), ...bad } : ok(`ok-${seq++}`)));
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`g${i}`, i]));
    const cases: Array<[string, () => ReturnType<typeof call>, string]> = [
      ['single durationMs just past 1e10', () => door.single(ws, { ...ok('s1'), durationMs: MAX_DURATION + 0.001 }), 'durationMs'],
      ['single durationMs negative', () => door.single(ws, { ...ok('s2'), durationMs: -0.001 }), 'durationMs'],
      ['single durationMs 1e308', () => door.single(ws, { ...ok('s3'), durationMs: 1e308 }), 'durationMs'],
      ['batch bytesIn 2^53', () => door.batch(ws, batchWith(3, { bytesIn: 2 ** 53 })), 'events.3.bytesIn'],
      ['batch bytesOut not an integer', () => door.batch(ws, batchWith(1, { bytesOut: 1.5 })), 'events.1.bytesOut'],
      ['batch bytesOut negative', () => door.batch(ws, batchWith(2, { bytesOut: -1 })), 'events.2.bytesOut'],
      ['batch value just past 1e15', () => door.batch(ws, batchWith(0, { value: MAX_VALUE + 1 })), 'events.0.value'],
      ['batch value -1e16', () => door.batch(ws, batchWith(4, { value: -1e16 })), 'events.4.value'],
      ['batch gauge just past 1e15', () => door.batch(ws, batchWith(2, { gauges: { cpu: 1e15 + 1 } })), 'events.2.gauges.cpu'],
      ['batch 21 gauges', () => door.batch(ws, batchWith(0, { gauges: many })), 'events.0.gauges'],
      ['batch gauge name', () => door.batch(ws, batchWith(1, { gauges: { 'cpu load': 1 } })), 'events.1.gauges.cpu load'],
      ['batch gauge not a number', () => door.batch(ws, batchWith(1, { gauges: { cpu: '0.5' } })), 'events.1.gauges.cpu'],
      ['collect value 1e16', () => door.collect(ws, { ...ok('c1'), value: 1e16 }), 'value'],
      ['collect durationMs 1e300', () => door.collect(ws, { ...ok('c2'), durationMs: 1e300 }), 'durationMs'],
      ['Segment batch revenue 1e16', () => door.segmentBatch(ws, [
        { type: 'track', event: 'Order Completed', messageId: `m-${seq++}`, userId: 'u1', properties: { revenue: 10 } },
        { type: 'track', event: 'Order Completed', messageId: `m-${seq++}`, userId: 'u1', properties: { revenue: 1e16 } },
      ]), 'batch.1.properties.revenue'],
      ['Segment track value -2e15', () => door.segmentTrack(ws, { event: 'Paid', userId: 'u1', messageId: `m-${seq++}`, properties: { value: -2e15 } }), 'properties.value'],
      ['Standard Webhooks data.durationMs 2e10', () => door.standard(ws, `msg_${seq++}`, { type: 'job.done', data: { durationMs: 2e10 } }), 'data.durationMs'],
      ['Standard Webhooks data.value 1e16', () => door.standard(ws, `msg_${seq++}`, { type: 'invoice.paid', data: { value: 1e16 } }), 'data.value'],
      ['Standard Webhooks data.durationMs negative', () => door.standard(ws, `msg_${seq++}`, { type: 'job.done', data: { durationMs: -5 } }), 'data.durationMs'],
    ];
    for (const [label, send, path] of cases) {
      const res = await send();
      expect(res.status, `${label}: ${res.text}`).toBe(400);
      expect(res.json.error.code, label).toBe('invalid_request');
      expect(res.json.error.issues.map((i: { path: string }) => i.path), label).toContain(path);
      expect(res.json.error.message, label).toMatch(new RegExp(`^${path.replace(/\./g, '\\.')}: `));
    }
    // Nothing of any refused request reached history or the live view.
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(0);
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(live.json.data.eventsToday).toBe(0);
  });
});

describe('values at every bound, through every door, never stop history or break a report', () => {
  let ws: TestWorkspace;
  const want = { events: 0, bytesIn: 0, bytesOut: 0, value: 0, valueScale: 0, extreme: 0, extremeBytesIn: 0, constructorOwn: 0 };
  const count = (e: { userId?: string; bytesIn?: number; bytesOut?: number; value?: number; properties?: Record<string, unknown> }) => {
    want.events++;
    want.bytesIn += e.bytesIn ?? 0;
    want.bytesOut += e.bytesOut ?? 0;
    want.value += e.value ?? 0;
    want.valueScale += Math.abs(e.value ?? 0);
    if (e.userId === 'u-extreme') {
      want.extreme++;
      want.extremeBytesIn += e.bytesIn ?? 0;
    }
    if (e.properties && Object.hasOwn(e.properties, 'constructor')) want.constructorOwn++;
  };

  /** 1,500 events: most at every maximum, mixed with normal ones, negative extremes and durations near 0. */
  function poisonBatches(round: string) {
    return Array.from({ length: 3 }, (_, b) =>
      Array.from({ length: 500 }, (_, i) => {
        const id = `${round}-${b}-${i}`;
        const max = {
          id, type: 'poison.max', userId: 'u-extreme', sessionId: 's-extreme', room: 'poison-room', durationMs: MAX_DURATION,
          bytesIn: MAX_BYTES, bytesOut: MAX_BYTES, value: MAX_VALUE, gauges: gaugesAt(1e15),
          properties: { plan: 'max', constructor: 'own-value' }, context: { platform: 'Web' },
        };
        switch (i % 10) {
          case 0: return { id, type: 'poison.normal', userId: `u${i % 5}`, durationMs: 120, bytesIn: 512, bytesOut: 2048, value: 3, properties: { plan: 'free' } };
          case 1: return { ...max, durationMs: 5e-324 };
          case 2: return { ...max, durationMs: 1e-300, error: 'slow' };
          case 3: return { ...max, durationMs: 0, value: -MAX_VALUE, gauges: gaugesAt(-1e15) };
          default: return max;
        }
      }),
    );
  }

  beforeAll(async () => {
    ws = await poisonWorkspace('poison-flow');
  });

  it('accepts them all, drains them in one drain whose byte sums pass 2^63, and a later event is in history within 5 s', async () => {
    for (const events of poisonBatches('r1')) {
      const res = await door.batch(ws, events);
      expect(res.status, res.text).toBe(202);
      events.forEach(count);
    }
    const single = { id: 'single-max', type: 'poison.single', userId: 'u-extreme', durationMs: MAX_DURATION, bytesIn: MAX_BYTES, bytesOut: MAX_BYTES, value: -MAX_VALUE, gauges: gaugesAt(1e15) };
    expect((await door.single(ws, single)).status).toBe(202);
    count(single);
    const beacon = { id: 'collect-max', type: 'poison.collect', userId: 'u-extreme', durationMs: MAX_DURATION, bytesIn: MAX_BYTES, value: MAX_VALUE };
    const collected = await door.collect(ws, beacon);
    expect(collected.status, collected.text).toBe(202);
    count(beacon);
    const seg = await door.segmentBatch(ws, [
      { type: 'track', event: 'Order Completed', messageId: 'seg-max', userId: 'u-extreme', properties: { revenue: MAX_VALUE } },
      { type: 'track', event: 'Order Refunded', messageId: 'seg-min', userId: 'u-extreme', properties: { revenue: -MAX_VALUE } },
    ]);
    expect(seg.status, seg.text).toBe(200);
    count({ userId: 'u-extreme', value: MAX_VALUE });
    count({ userId: 'u-extreme', value: -MAX_VALUE });
    const track = await door.segmentTrack(ws, { event: 'Tokens Used', userId: 'u-extreme', messageId: 'seg-track', properties: { value: MAX_VALUE } });
    expect(track.status, track.text).toBe(200);
    count({ userId: 'u-extreme', value: MAX_VALUE });
    const standard = await door.standard(ws, 'msg_poison_max', { type: 'job.done', data: { userId: 'u-extreme', durationMs: MAX_DURATION, value: -MAX_VALUE } });
    expect(standard.status, standard.text).toBe(202);
    count({ userId: 'u-extreme', value: -MAX_VALUE });
    // LiveKit states no durationMs: a span derived from a clock in other units (joined at 1 s after 1970) is left out.
    const room = { name: 'poison-room', sid: 'RM_poison' };
    const participant = { sid: 'PA_x', identity: 'u-extreme', joinedAt: BigInt(1) };
    for (const name of ['participant_joined', 'participant_left']) {
      const res = await door.livekit(ws, name, { room, participant });
      expect(res.status, res.text).toBe(202);
      count({ userId: 'u-extreme' });
    }

    // One drain takes it all (5,000 events at most): its bytesIn sum, 1,350 × (2^53−1) ≈ 1.2e19, is past SQLite's 2^63.
    expect(want.extremeBytesIn).toBeGreaterThan(2 ** 63);
    expect(await flush(ws)).toBe(0);
    expect((await hub(ws.id).usage()).drainFailures).toBe(0);
    expect(await rowsOf(ws)).toBe(want.events);
    const left = await call('GET', `/api/v1/workspaces/${ws.slug}/events?type=presence.leave`, { token: ws.keys.read });
    expect(left.json.events).toHaveLength(1);
    expect(left.json.events[0].durationMs).toBeNull();

    // A second drain into the same rollup rows: INTEGER + INTEGER past 2^63 becomes REAL in SQLite, and D1 takes it.
    for (const events of poisonBatches('r2')) {
      expect((await door.batch(ws, events)).status).toBe(202);
      events.forEach(count);
    }
    expect(await flush(ws)).toBe(0);
    const day = await env.DB.prepare(`SELECT typeof(bytes_in) AS t, bytes_in AS b FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND type = '' AND dim = ''`)
      .bind(ws.id).first<{ t: string; b: number }>();
    expect(day!.t).toBe('real');
    expect(Number.isFinite(day!.b)).toBe(true);

    // History keeps flowing: a later event reaches GET …/events within 5 s, drained by the hub's own alarm.
    const started = Date.now();
    expect((await door.single(ws, { id: 'later-1', type: 'poison.later', userId: 'u-later', durationMs: 40 })).status).toBe(202);
    count({ userId: 'u-later' });
    await vi.waitFor(async () => {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=5`, { token: ws.keys.read });
      expect(res.json.events.map((e: { id: string }) => e.id)).toContain('later-1');
    }, { timeout: 5_000, interval: 100 });
    console.log(`poison: ${want.events} events; a later event was in history after ${Date.now() - started} ms`);
  });

  it('answers every report 200 with finite numbers that add up, plain, filtered by the extreme user, and by type', async () => {
    expect(await flush(ws)).toBe(0);
    const plain = await everyReport(ws);
    const summary = plain.get('/stats/summary?range=24h');
    expect(summary.events).toBe(want.events);
    close(summary.bytesIn, want.bytesIn);
    close(summary.bytesOut, want.bytesOut);
    close(summary.value, want.value, want.valueScale);
    expect(summary.durationMs.p99 / MAX_DURATION).toBeGreaterThan(0.98);
    expect(summary.durationMs.p99 / MAX_DURATION).toBeLessThan(1.02);
    expect(summary.durationMs.p50).toBeGreaterThan(0);
    // Durations near 0 (5e-324, 1e-300) count as 0: the sketch stays small (no 35,000 bins between 1e-300 and 1e10).
    const sketch = await env.DB.prepare(`SELECT length(durations) AS n FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND type = '' AND dim = ''`).bind(ws.id).first<{ n: number }>();
    expect(sketch!.n).toBeLessThan(5_000);

    const user = plain.get('/users/u-extreme?range=24h').user;
    expect(user.events).toBe(want.extreme);
    close(user.bytesIn, want.extremeBytesIn);
    const listed = plain.get('/users?range=24h&limit=1000').users.find((u: { userId: string }) => u.userId === 'u-extreme');
    close(listed.bytesIn, want.extremeBytesIn);

    // by=property:NAME for names of Object.prototype answers like any other property: the events' own values, or no rows.
    const rows = (by: string) => plain.get(`/stats/breakdown?range=24h&by=${encodeURIComponent(by)}&limit=1000`).rows as Array<{ key: string; events: number }>;
    expect(rows('property:constructor')).toEqual([expect.objectContaining({ key: 'own-value', events: want.constructorOwn })]);
    for (const name of PROTO_NAMES.filter((n) => n !== 'constructor')) expect(rows(`property:${name}`), name).toEqual(rows('property:nope'));
    expect(rows('property:nope')).toEqual([]);
    expect(rows('property:plan').map((r) => r.key).sort()).toEqual(['free', 'max']);

    const exported = plain.get('/export?format=ndjson') as unknown[];
    expect(exported).toHaveLength(want.events);
    const bytesTotal = plain.get('/metrics').find((f: { name: string }) => f.name === 'edgepulse_bytes_in_total').metrics[0].value;
    close(Number(bytesTotal), want.bytesIn);

    const byUser = await everyReport(ws, 'userId=u-extreme');
    close(byUser.get('/stats/summary?range=24h').bytesIn, want.extremeBytesIn);
    expect(byUser.get('/stats/summary?range=24h').events).toBe(want.extreme);
    const byType = await everyReport(ws, 'type=poison.max');
    expect(byType.get('/stats/summary?range=24h').events).toBeGreaterThan(2000);
  });
});

describe('names of Object.prototype are names like any other', () => {
  it('counts types and context values such as "constructor" and "__proto__" in the live view and the breakdowns', async () => {
    const ws = await createWorkspace('poison-proto');
    const events = [
      { id: 'p1', type: '__proto__', userId: 'u1', context: { platform: 'constructor', browser: '__proto__' } },
      { id: 'p2', type: 'constructor', userId: 'u2', context: { platform: 'constructor', browser: '__proto__' } },
      { id: 'p3', type: 'toString', userId: 'u3', context: { platform: 'Web', browser: 'hasOwnProperty' } },
    ];
    expect((await door.batch(ws, events)).status).toBe(202);
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(live.status).toBe(200);
    expectSane(live.json, 'live');
    expect(live.json.data.distribution.platform).toEqual({ constructor: 2, Web: 1 });
    expect(Object.entries(live.json.data.distribution.browser).sort()).toEqual([['__proto__', 2], ['hasOwnProperty', 1]]);
    expect(Object.entries(live.json.data.eventCounts).sort()).toEqual([['__proto__', 1], ['constructor', 1], ['toString', 1]]);
    expect(await flush(ws)).toBe(0);
    for (const by of ['type', 'platform', 'browser']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?range=24h&by=${by}`, { token: ws.keys.read });
      expect(res.status, res.text).toBe(200);
      expectSane(res.json, by);
      expect(res.json.rows.reduce((n: number, r: { events: number }) => n + r.events, 0), by).toBe(3);
    }
  });
});

describe('gauges', () => {
  it('are accepted at their bounds and travel with the event in the hub’s outbox', async () => {
    const ws = await createWorkspace('poison-gauges');
    const gauges = { cpu: 0.73, 'queue.depth': 12, 'a:b-c_d': -1e15, [`g${'x'.repeat(62)}`]: 1e15 };
    expect((await door.single(ws, { id: 'g1', type: 'sample', gauges })).status).toBe(202);
    expect((await door.collect(ws, { id: 'g2', type: 'sample', gauges: { cpu: 0.5 } })).status).toBe(202);
    expect((await door.single(ws, { id: 'g3', type: 'sample' })).status).toBe(202);
    const outbox = await runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (_i, state) =>
      state.storage.sql.exec<{ events: string }>('SELECT events FROM outbox ORDER BY seq').toArray().flatMap((r) => JSON.parse(r.events) as Array<{ id: string; gauges?: unknown }>));
    expect(Object.fromEntries(outbox.map((e) => [e.id, e.gauges]))).toEqual({ g1: gauges, g2: { cpu: 0.5 }, g3: undefined });
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(3);
  });
});
