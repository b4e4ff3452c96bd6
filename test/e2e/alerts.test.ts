import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type ReceivedHook } from '../node/webhook-receiver';
import { createWorkspace, startDevServer, type DevServer } from './server';

// Alert rules against `wrangler dev`, delivering to a real local HTTP receiver that verifies every
// delivery with `standardwebhooks`. The scenarios run at once on one server, each in its own workspace.

let server: DevServer;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startDevServer(), startWebhookReceiver()]);
});
afterAll(async () => {
  await server?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.server.close(() => resolve()) : resolve()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Delivered {
  id: string;
  at: number;
  type: string;
  data: { alertId: string; value: number | null; since: string; workspace: string; dashboardUrl: string; metric: string };
}

/** A workspace with one rule whose deliveries go to its own receiver box. */
async function withRule(slug: string, body: Record<string, unknown>) {
  const ws = await createWorkspace(server, `${slug}-${Date.now().toString(36)}`);
  const box = `/alerts-${slug}-${crypto.randomUUID()}`;
  const api = (path: string, init: { method?: string; body?: unknown; key?: string } = {}) =>
    fetch(`${server.url}/api/v1/workspaces/${ws.workspace.slug}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? ws.keys.admin}`, 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const res = await api('/alerts', { method: 'POST', body: { name: slug, windowMinutes: 1, forMinutes: 0, destination: { url: `${receiver.url}${box}` }, ...body } });
  expect(res.status).toBe(201);
  const { alert, secret } = (await res.json()) as { alert: { id: string }; secret: string };
  const hook = new Webhook(secret);
  return {
    ws, alert,
    send: async (events: Array<Record<string, unknown>>) => {
      const sent = await api('/events', { method: 'POST', key: ws.keys.ingest, body: { events } });
      expect(sent.status).toBe(202);
    },
    /** Every delivery the box received, each verified against the rule's secret (a bad signature throws). */
    delivered: (): Delivered[] =>
      (receiver.received.get(box) ?? []).map((h: ReceivedHook) => ({ id: h.headers['webhook-id'], at: h.at, ...(hook.verify(h.body, h.headers) as Omit<Delivered, 'id' | 'at'>) })),
    api,
  };
}

async function until<T>(read: () => T, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(250);
  }
}

/** Sends `perSecond` events a second for `seconds`, in one batch a second. */
async function traffic(send: (events: Array<Record<string, unknown>>) => Promise<void>, seconds: number, perSecond: number, extra: Record<string, unknown> = {}) {
  for (let s = 0; s < seconds; s++) {
    const started = Date.now();
    await send(Array.from({ length: perSecond }, (_, i) => ({ type: 'api.call', userId: `u${i}`, ...extra })));
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
}

describe('alerts against wrangler dev', () => {
  it.concurrent('an error-rate rule fires within 15 s of sustained errors and resolves after they stop: one alert.firing, one alert.resolved', async () => {
    const r = await withRule('errs', { metric: 'errorRate', op: '>', threshold: 0.5 });
    await traffic(r.send, 5, 5); // healthy traffic first
    const errorsFrom = Date.now();
    await traffic(r.send, 20, 5, { error: 'upstream timeout' });
    const firing = await until(r.delivered, (d) => d.some((x) => x.type === 'alert.firing'), 5_000);
    const fired = firing.find((x) => x.type === 'alert.firing');
    expect(fired, 'no alert.firing').toBeDefined();
    expect(fired!.at - errorsFrom).toBeLessThan(15_000);
    expect(fired!).toMatchObject({ id: `msg_${r.alert.id}_1`, data: { alertId: r.alert.id, metric: 'errorRate', workspace: r.ws.workspace.slug } });
    expect(fired!.data.value).toBeGreaterThan(0.5);
    expect(fired!.data.dashboardUrl).toBe(`${server.url}/w/${r.ws.workspace.slug}`);
    // The errors leave the 1-minute window about a minute after they stop.
    const stoppedAt = Date.now();
    const done = await until(r.delivered, (d) => d.some((x) => x.type === 'alert.resolved'), 90_000);
    const resolved = done.find((x) => x.type === 'alert.resolved');
    expect(resolved, 'no alert.resolved').toBeDefined();
    expect(resolved!.at - stoppedAt).toBeLessThan(60_000 + 15_000);
    console.log(`alerts e2e: fired ${fired!.at - errorsFrom} ms after the first error, resolved ${resolved!.at - stoppedAt} ms after the last`);
    await sleep(6_000); // one more evaluation: nothing else arrives
    expect(r.delivered().map((x) => [x.type, x.id])).toEqual([['alert.firing', `msg_${r.alert.id}_1`], ['alert.resolved', `msg_${r.alert.id}_2`]]);
    const state = (await (await r.api(`/alerts/${r.alert.id}`)).json()) as { alert: { state: string } };
    expect(state.alert.state).toBe('ok');
  }, 240_000);

  it.concurrent('"eventsPerSecond < 1 for 1 minute" fires when traffic stops entirely', async () => {
    const r = await withRule('quiet', { metric: 'eventsPerSecond', op: '<', threshold: 1, forMinutes: 1 });
    await traffic(r.send, 30, 5);
    const stoppedAt = Date.now();
    expect(r.delivered()).toEqual([]);
    // The rate in the 1-minute window falls under 1/s ≈ 50 s after the stop, then must hold for 1 minute.
    const got = await until(r.delivered, (d) => d.length > 0, 150_000);
    expect(got.map((x) => x.type)).toEqual(['alert.firing']);
    expect(got[0].at - stoppedAt).toBeGreaterThan(60_000);
    expect(got[0].at - stoppedAt).toBeLessThan(60_000 + 60_000 + 15_000);
    expect(got[0].data.value).toBeLessThan(1);
    console.log(`alerts e2e: "eventsPerSecond < 1 for 1 minute" fired ${got[0].at - stoppedAt} ms after the traffic stopped`);
    const live = (await (await r.api('/live', { key: r.ws.keys.read })).json()) as { data: { firingAlerts?: Array<{ id: string }> } };
    expect(live.data.firingAlerts?.map((a) => a.id)).toEqual([r.alert.id]);
  }, 240_000);

  it.concurrent('a value crossing its threshold every 10 s for 3 minutes fires at most once', async () => {
    const r = await withRule('flap', { metric: 'roomParticipants', filter: { room: 'stage' }, op: '>', threshold: 0 });
    for (let i = 0; i < 18; i++) {
      const started = Date.now();
      await r.send([{ type: i % 2 === 0 ? 'presence.join' : 'presence.leave', userId: 'host', room: 'stage' }]);
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
    }
    await sleep(6_000);
    const types = r.delivered().map((x) => x.type);
    console.log(`alerts e2e: 18 crossings in 3 minutes gave ${types.join(', ')}`);
    expect(types.filter((t) => t === 'alert.firing')).toHaveLength(1);
    expect(types.filter((t) => t === 'alert.resolved').length).toBeLessThanOrEqual(1);
    const deliveries = (await (await r.api(`/alerts/${r.alert.id}/deliveries`)).json()) as { deliveries: Array<{ type: string; status: string }> };
    expect(deliveries.deliveries.map((d) => d.type).sort()).toEqual([...types].sort());
    expect(deliveries.deliveries.every((d) => d.status === 'delivered')).toBe(true);
  }, 240_000);
});
