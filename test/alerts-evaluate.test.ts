import { env, evictDurableObject, runDurableObjectAlarm } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, inject, it } from 'vitest';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, hub, type TestWorkspace } from './helpers';

const S = 1_000;
const MIN = 60_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

let n = 0;
function ev(at: number, extra: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `e${n++}`, type: 'page', ts: at, receivedAt: at, userId: null, sessionId: null, room: null, durationMs: null,
    bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {}, ...extra,
  };
}
const many = (count: number, at: number, extra: Partial<NormalizedEvent> = {}) => Array.from({ length: count }, () => ev(at, extra));

// A real HTTP receiver on loopback (test/node/webhook-receiver.ts); the rules are written as when running locally.
const RECEIVER = inject('webhookReceiverUrl');
const LOCAL = 'http://localhost';
const received = async (box: string): Promise<Array<{ headers: Record<string, string>; body: string }>> => (await fetch(`${RECEIVER}/_log${box}`)).json();

const rule = (extra: Record<string, unknown>) => ({
  name: 'r', op: '>', threshold: 0, windowMinutes: 1, forMinutes: 0, destination: { url: `${RECEIVER}/box-${crypto.randomUUID()}` }, ...extra,
});

/** A workspace whose hub runs on a fixed clock from T0, with the given rules (created at T0). */
async function setup(rules: Record<string, unknown>[]) {
  const ws = await createWorkspace('alev');
  const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
  let stub = hub(ws.id);
  await stub.setClockForTest(T0);
  const ids: string[] = [];
  const secrets: string[] = [];
  const boxes: string[] = [];
  for (const r of rules) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/alerts`, { token: ws.keys.admin, body: rule(r), origin: LOCAL });
    expect(res.status, res.text).toBe(201);
    ids.push(res.json.alert.id);
    secrets.push(res.json.secret);
    boxes.push(new URL(res.json.alert.destination.url).pathname);
  }
  const t = {
    ws, ref, ids, secrets, boxes,
    stub: () => stub,
    /** The hub's clock at `at`, and one evaluation as its alarm runs it. */
    tick: async (at: number) => {
      await stub.setClockForTest(at);
      await stub.tickForTest();
    },
    ingest: async (at: number, events: NormalizedEvent[]) => {
      await stub.setClockForTest(at);
      expect(await stub.ingest(ref, events)).toMatchObject({ accepted: events.length });
    },
    state: (i = 0) => stub.alertStateForTest(ids[i]),
    restart: async (at: number) => {
      await evictDurableObject(stub);
      stub = hub(ws.id);
      await stub.setClockForTest(at);
    },
  };
  return t;
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function deliveries(ws: TestWorkspace, id: string) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/alerts/${id}/deliveries`, { token: ws.keys.admin });
  expect(res.status).toBe(200);
  return res.json.deliveries as Array<{ id: string; type: string }>;
}

describe('alert evaluation in the WorkspaceHub', () => {
  it('an error-rate rule fires on errors and resolves when they leave the window: one delivery each, fixed ids, state in D1 and the live stats', async () => {
    const t = await setup([{ name: 'errors', metric: 'errorRate', op: '>', threshold: 0.5 }]);
    const [id] = t.ids;
    await t.ingest(T0 + 20 * S, many(5, T0 + 20 * S));
    await t.ingest(T0 + 30 * S, many(3, T0 + 30 * S, { error: 'boom' }));
    expect(await t.state()).toMatchObject({ state: 'ok', seq: 0 }); // 3 errors of 8
    // Evaluated right after the batch, on the part of the window seen so far: 8 errors of 13.
    await t.ingest(T0 + 40 * S, many(5, T0 + 40 * S, { error: 'boom' }));
    expect(await t.state()).toMatchObject({ state: 'firing', since: T0 + 40 * S, seq: 1 });
    expect((await t.state())!.value).toBeCloseTo(8 / 13, 5);
    const stats = await t.stub().liveStats();
    expect(stats.firingAlerts).toEqual([{ id, name: 'errors', metric: 'errorRate', op: '>', threshold: 0.5, value: expect.any(Number), since: new Date(T0 + 40 * S).toISOString() }]);
    await t.tick(T0 + 41 * S); // writes the state to D1 (retried at each evaluation until it succeeds)
    const stored = (await call('GET', `/api/v1/workspaces/${t.ws.slug}/alerts/${id}`, { token: t.ws.keys.admin })).json.alert;
    expect(stored).toMatchObject({ state: 'firing', since: new Date(T0 + 40 * S).toISOString() });

    await t.tick(T0 + 90 * S); // (30 s, 90 s]: only the errors are left
    expect(await t.state()).toMatchObject({ state: 'firing', seq: 1 });
    await t.tick(T0 + 2 * MIN); // the window holds no events: the rate is 0
    expect(await t.state()).toMatchObject({ state: 'ok', since: T0 + 2 * MIN, value: 0, seq: 2 });
    expect((await t.stub().liveStats()).firingAlerts).toBeUndefined();
    const list = await deliveries(t.ws, id);
    expect(list.map((d) => [d.id, d.type])).toEqual([[`msg_${id}_2`, 'alert.resolved'], [`msg_${id}_1`, 'alert.firing']]);
    // The receiver got both, signed under the rule's secret, with the payload of API.md.
    const hooks = await until(() => received(t.boxes[0]), (h) => h.length >= 2);
    const bodies = hooks.map((h) => new Webhook(t.secrets[0]).verify(h.body, h.headers) as { type: string; data: Record<string, unknown> });
    expect(hooks.map((h) => h.headers['webhook-id']).sort()).toEqual([`msg_${id}_1`, `msg_${id}_2`]);
    expect(bodies.map((b) => b.type).sort()).toEqual(['alert.firing', 'alert.resolved']);
    expect(bodies.find((b) => b.type === 'alert.firing')!.data).toEqual({
      alertId: id, name: 'errors', workspace: t.ws.slug, metric: 'errorRate', value: expect.closeTo(8 / 13, 5), op: '>', threshold: 0.5,
      since: new Date(T0 + 40 * S).toISOString(), dashboardUrl: `${LOCAL}/w/${t.ws.slug}`,
    });
    expect((await call('GET', `/api/v1/workspaces/${t.ws.slug}/alerts/${id}`, { token: t.ws.keys.admin })).json.alert).toMatchObject({ state: 'ok', value: 0 });
  });

  it('"eventsPerSecond < 1 for 1 minute" fires when traffic stops, from evaluations alone; not on the past before the rule existed', async () => {
    const t = await setup([
      { metric: 'eventsPerSecond', op: '<', threshold: 1, forMinutes: 1 },
      { metric: 'eventsPerSecond', filter: { type: 'never.sent' }, op: '<', threshold: 1, forMinutes: 0 },
    ]);
    const traffic = async (from: number, to: number) => {
      for (let s = from; s <= to; s += 10) await t.ingest(T0 + s * S, many(20, T0 + s * S)); // 2 a second
    };
    await traffic(0, 30);
    await t.tick(T0 + 30 * S);
    // Half a window seen: no value yet, even for the rule whose events never come.
    for (const i of [0, 1]) expect(await t.state(i)).toMatchObject({ state: 'ok', pendingSince: null });
    await traffic(40, 90);
    await t.tick(T0 + 60 * S);
    expect(await t.state(1)).toMatchObject({ state: 'firing', value: 0 });
    await t.tick(T0 + 90 * S);
    expect(await t.state()).toMatchObject({ state: 'ok', pendingSince: null });
    await t.tick(T0 + 120 * S); // 80 events in (60 s, 120 s]: 1.33/s
    expect(await t.state()).toMatchObject({ pendingSince: null });
    await t.tick(T0 + 140 * S); // (80 s, 140 s]: the batches of 80 s and 90 s, 0.67/s
    expect(await t.state()).toMatchObject({ state: 'ok', pendingSince: T0 + 140 * S });
    await t.tick(T0 + 199 * S);
    expect(await t.state()).toMatchObject({ state: 'ok' });
    await t.tick(T0 + 200 * S);
    expect(await t.state()).toMatchObject({ state: 'firing', value: 0, seq: 1 });
    expect((await t.state(1))!.seq).toBe(1);
  });

  it('filters: events of a type, errors of a room', async () => {
    const t = await setup([
      { metric: 'events', filter: { type: 'api.call' }, threshold: 2 },
      { metric: 'errors', filter: { room: 'r1' }, threshold: 1 },
      { metric: 'eventsPerSecond', filter: { type: 'api.call', room: 'r1' }, threshold: 0.01 },
    ]);
    await t.ingest(T0 + 61 * S, [...many(5, T0 + 61 * S), ...many(2, T0 + 61 * S, { type: 'api.call' }), ...many(3, T0 + 61 * S, { room: 'r2', error: 'x' }), ev(T0 + 61 * S, { room: 'r1', error: 'x' })]);
    expect((await t.state(0))!.state).toBe('ok'); // 2 api.call, not > 2
    expect((await t.state(1))!.state).toBe('ok'); // 1 error in r1
    expect((await t.state(2))!.state).toBe('ok'); // none of api.call in r1
    await t.ingest(T0 + 63 * S, [ev(T0 + 63 * S, { type: 'api.call', room: 'r1', error: 'x' })]);
    for (const i of [0, 1, 2]) expect((await t.state(i))!.state).toBe('firing');
    expect((await t.state(0))!.value).toBe(3);
    expect((await t.state(1))!.value).toBe(2);
    expect((await t.state(2))!.value).toBeCloseTo(1 / 60, 6);
  });

  it('latency percentiles over the window; no durations is no value (the condition does not hold, even with "<")', async () => {
    const t = await setup([
      { metric: 'latencyP95', threshold: 100, windowMinutes: 5 },
      { metric: 'latencyP99', op: '<', threshold: 50, windowMinutes: 5 },
    ]);
    const at = T0 + 5 * MIN + S;
    await t.ingest(at, many(10, at));
    await t.tick(at);
    for (const i of [0, 1]) expect(await t.state(i)).toMatchObject({ state: 'ok', pendingSince: null });
    await t.ingest(at + S, Array.from({ length: 100 }, (_, i) => ev(at + S, { durationMs: i + 1 })));
    await t.tick(at + 2 * S);
    expect((await t.state(0))!.state).toBe('ok'); // p95 ≈ 95 ms
    await t.ingest(at + 3 * S, many(10, at + 3 * S, { durationMs: 1000 }));
    await t.tick(at + 4 * S);
    expect((await t.state(0))!.state).toBe('firing');
    expect(Math.abs((await t.state(0))!.value! - 1000) / 1000).toBeLessThan(0.01);
    expect((await t.state(1))!.state).toBe('ok');
  });

  it('a gauge rule reads the mean of its gauge’s samples; without samples it resolves', async () => {
    const t = await setup([{ metric: 'gauge', filter: { gauge: 'cpu' }, threshold: 0.8 }]);
    const at = T0 + 61 * S;
    await t.ingest(at, [ev(at, { gauges: { cpu: 0.7 } }), ev(at, { gauges: { cpu: 0.9, mem: 5 } }), ev(at), ev(at, { gauges: { mem: 9 } })]);
    await t.tick(at);
    expect(await t.state()).toMatchObject({ state: 'ok', pendingSince: null }); // mean 0.8: not above
    await t.ingest(at + S, [ev(at + S, { gauges: { cpu: 0.95 } })]);
    await t.tick(at + S);
    expect(await t.state()).toMatchObject({ state: 'firing', value: 0.85 });
    await t.tick(at + 2 * MIN);
    expect(await t.state()).toMatchObject({ state: 'ok', value: null, seq: 2 });
  });

  it('onlineUsers and roomParticipants read the live numbers now (a room’s participants, or the fullest room)', async () => {
    const t = await setup([
      { metric: 'onlineUsers', threshold: 2 },
      { metric: 'onlineUsers', filter: { room: 'r1' }, threshold: 1 },
      { metric: 'roomParticipants', threshold: 2 },
      { metric: 'roomParticipants', filter: { room: 'r2' }, threshold: 0 },
    ]);
    await t.ingest(T0, [ev(T0, { userId: 'a' }), ev(T0, { userId: 'b' })]);
    await t.tick(T0);
    expect((await Promise.all([0, 1, 2, 3].map((i) => t.state(i)))).map((s) => s!.state)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const join = (user: string, room: string) => ev(T0 + S, { type: 'presence.join', userId: user, room });
    await t.ingest(T0 + S, [join('x', 'r1'), join('y', 'r1')]);
    await t.tick(T0 + S);
    expect((await Promise.all([0, 1, 2, 3].map((i) => t.state(i)))).map((s) => [s!.state, s!.value])).toEqual([['firing', 4], ['firing', 2], ['ok', null], ['ok', null]]);
    await t.ingest(T0 + 2 * S, [join('z', 'r1')]);
    await t.tick(T0 + 2 * S);
    expect(await t.state(2)).toMatchObject({ state: 'firing', value: 3 });
    expect((await t.state(3))!.state).toBe('ok');
    // Five minutes later the users are no longer online; the room's participants stay until they leave.
    await t.tick(T0 + 6 * MIN);
    expect((await Promise.all([0, 1, 2, 3].map((i) => t.state(i)))).map((s) => s!.state)).toEqual(['ok', 'firing', 'firing', 'ok']);
  });

  it('forMinutes: fires once the condition has held that long; its timer, the windows and the state survive a restart', async () => {
    const t = await setup([{ metric: 'events', threshold: 2, forMinutes: 2 }]);
    await t.ingest(T0 + 61 * S, many(5, T0 + 61 * S));
    expect(await t.state()).toMatchObject({ state: 'ok', pendingSince: T0 + 61 * S });
    await t.ingest(T0 + 100 * S, many(5, T0 + 100 * S));
    await t.restart(T0 + 150 * S);
    await t.stub().tickForTest();
    // The window (90 s, 150 s] still holds the 5 events of T0+100 s: the condition held all along.
    expect(await t.state()).toMatchObject({ state: 'ok', pendingSince: T0 + 61 * S });
    await t.ingest(T0 + 170 * S, many(5, T0 + 170 * S));
    await t.tick(T0 + 180 * S);
    expect((await t.state())!.state).toBe('ok');
    await t.tick(T0 + 181 * S);
    expect(await t.state()).toMatchObject({ state: 'firing', since: T0 + 181 * S, value: 5, seq: 1 });
    await t.restart(T0 + 182 * S);
    expect(await t.state()).toMatchObject({ state: 'firing', seq: 1 });
    expect((await t.stub().liveStats()).firingAlerts?.map((a) => a.id)).toEqual(t.ids);
  });

  it(`no flapping: a value crossing its threshold every 10 s for 3 minutes fires once; again only ${LIMITS.alertRefireAfterMs / MIN} minutes after the resolve`, async () => {
    const t = await setup([{ metric: 'roomParticipants', filter: { room: 'stage' }, threshold: 0 }]);
    for (let s = 0; s < 180; s += 10) {
      const type = (s / 10) % 2 === 0 ? 'presence.join' : 'presence.leave';
      await t.ingest(T0 + s * S, [ev(T0 + s * S, { type, userId: 'u', room: 'stage' })]);
      await t.tick(T0 + s * S + 5 * S);
    }
    const after = await t.state();
    expect(after).toMatchObject({ seq: 2, state: 'ok', resolvedAt: T0 + 10 * S });
    expect((await deliveries(t.ws, t.ids[0])).map((d) => d.type)).toEqual(['alert.resolved', 'alert.firing']);
    // Present again and for good: it fires once the hold after the resolve has passed.
    await t.ingest(T0 + 200 * S, [ev(T0 + 200 * S, { type: 'presence.join', userId: 'u', room: 'stage' })]);
    await t.tick(T0 + 10 * S + LIMITS.alertRefireAfterMs - S);
    expect((await t.state())!.state).toBe('ok');
    await t.tick(T0 + 10 * S + LIMITS.alertRefireAfterMs);
    expect(await t.state()).toMatchObject({ state: 'firing', seq: 3 });
  });

  it('a changed condition restarts its pending timer (a new name does not); disabling a firing rule resolves it', async () => {
    const t = await setup([{ metric: 'events', threshold: 2, forMinutes: 1 }, { metric: 'onlineUsers', threshold: 0 }]);
    const patch = (i: number, body: Record<string, unknown>) => call('PATCH', `/api/v1/workspaces/${t.ws.slug}/alerts/${t.ids[i]}`, { token: t.ws.keys.admin, body, origin: LOCAL });
    await t.ingest(T0 + 61 * S, many(5, T0 + 61 * S, { userId: 'a' }));
    expect(await t.state(0)).toMatchObject({ pendingSince: T0 + 61 * S });
    expect((await t.state(1))!.state).toBe('firing');
    await t.stub().setClockForTest(T0 + 80 * S);
    expect((await patch(0, { name: 'renamed' })).status).toBe(200);
    expect(await t.state(0)).toMatchObject({ pendingSince: T0 + 61 * S });
    await t.stub().setClockForTest(T0 + 90 * S);
    expect((await patch(0, { threshold: 3 })).status).toBe(200);
    expect(await t.state(0)).toMatchObject({ pendingSince: T0 + 90 * S });
    await t.ingest(T0 + 110 * S, many(5, T0 + 110 * S));
    await t.tick(T0 + 125 * S);
    expect((await t.state(0))!.state).toBe('ok');
    await t.tick(T0 + 150 * S);
    expect((await t.state(0))!.state).toBe('firing');

    expect((await patch(1, { enabled: false })).status).toBe(200);
    expect(await t.state(1)).toMatchObject({ state: 'ok', seq: 2, value: null });
    expect((await t.stub().liveStats()).firingAlerts?.map((a) => a.id)).toEqual([t.ids[0]]);
    expect((await deliveries(t.ws, t.ids[1])).map((d) => d.type)).toEqual(['alert.resolved', 'alert.firing']);
  });

  it('a hub never told its rules reads them from D1 at its next alarm', async () => {
    const ws = await createWorkspace('alev');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const now = Date.now();
    // A rule in D1 that the hub has not heard of (as after a hub that started before rules existed).
    await env.DB.prepare(
      `INSERT INTO alert_rules (id, workspace_id, name, metric, filter, op, threshold, window_minutes, for_minutes, destination_url, destination_format, secret, enabled, state, created_at, updated_at)
       VALUES ('alr_fromd1', ?, 'online', 'onlineUsers', '{}', '>', 0, 1, 0, 'https://127.0.0.1:9/', 'standard', 'whsec_dGVzdA==', 1, 'ok', ?, ?)`,
    ).bind(ws.id, now, now).run();
    const stub = hub(ws.id);
    await stub.setClockForTest(T0);
    await stub.ingest(ref, [ev(T0, { userId: 'a' })]);
    expect(await stub.alertStateForTest('alr_fromd1')).toBeUndefined();
    await runDurableObjectAlarm(stub);
    expect(await stub.alertStateForTest('alr_fromd1')).toMatchObject({ state: 'ok', seq: 0 });
    await stub.tickForTest();
    expect(await stub.alertStateForTest('alr_fromd1')).toMatchObject({ state: 'firing', value: 1, seq: 1 });
  });
});
