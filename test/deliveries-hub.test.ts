import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, inject, it } from 'vitest';
import type { DeliveryJob } from '../src/alerts/delivery-job';
import { sendDelivery } from '../src/alerts/send-delivery';
import type { WorkspaceRef } from '../src/ingest/types';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import type { Delivery } from '../src/shared/alerts';
import { call, createWorkspace, hub, makeEvents } from './helpers';

// Deliveries through a real hub to a real HTTP receiver (test/node/webhook-receiver.ts, started by globalSetup).
const RECEIVER = inject('webhookReceiverUrl');
const SECRET = `whsec_${btoa('hub-test-secret-of-enough-bytes')}`;

interface Received {
  headers: Record<string, string>;
  body: string;
  answered: number;
}

const box = () => `/box-${crypto.randomUUID()}`;
const received = async (path: string): Promise<Received[]> => (await fetch(`${RECEIVER}/_log${path}`)).json();

function hubOf(name: string) {
  return env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(name)) as DurableObjectStub<WorkspaceHub>;
}

function ref(name: string): WorkspaceRef {
  return { id: name, slug: name, timezone: 'UTC' } as WorkspaceRef;
}

function job(id: string, url: string, format: 'standard' | 'slack' = 'standard', ownerId = 'rule-x'): DeliveryJob {
  return {
    id,
    ownerId,
    type: 'alert.firing',
    destination: { url, format },
    secret: SECRET,
    payload: {
      type: 'alert.firing',
      timestamp: new Date().toISOString(),
      data: { alertId: ownerId, name: 'Errors <high>', workspace: 'acme', metric: 'errorRate', value: 0.25, op: '>', threshold: 0.1, since: new Date().toISOString(), dashboardUrl: 'http://localhost:8787/w/acme' },
    },
  };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('deliveries through the hub', () => {
  it('posts a Standard Webhooks request that verifies under the secret, once', async () => {
    const name = `hub-d-${crypto.randomUUID()}`;
    const stub = hubOf(name);
    const path = box();
    const j = job('msg_hub1', `${RECEIVER}${path}`);
    await stub.enqueueDeliveries(ref(name), [j]);
    await stub.enqueueDeliveries(ref(name), [j]);
    await runDurableObjectAlarm(stub);
    const list = await until(() => stub.listDeliveries(ref(name), 'rule-x'), (l: Delivery[]) => l[0]?.status === 'delivered');
    expect(list).toEqual([expect.objectContaining({ id: 'msg_hub1', type: 'alert.firing', status: 'delivered', attempts: 1, responseStatus: 200 })]);
    const got = await received(path);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['webhook-id']).toBe('msg_hub1');
    expect(new Webhook(SECRET).verify(got[0]!.body, got[0]!.headers)).toEqual(j.payload);
  });

  it('posts Slack’s { text, blocks } for format slack', async () => {
    const name = `hub-s-${crypto.randomUUID()}`;
    const stub = hubOf(name);
    const path = box();
    await stub.enqueueDeliveries(ref(name), [job('msg_slack', `${RECEIVER}${path}`, 'slack')]);
    await runDurableObjectAlarm(stub);
    const got = await until(() => received(path), (l) => l.length > 0);
    const body = JSON.parse(got[0]!.body);
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toContain('Firing: Errors &lt;high&gt; (acme)');
    expect(body.text).toContain('errorRate is 0.25');
    expect(body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(body.blocks[1].elements[0].text).toBe('<http://localhost:8787/w/acme|Open the dashboard>');
  });

  it('cuts off a destination that does not answer in time', async () => {
    const path = box();
    const started = Date.now();
    const result = await sendDelivery(job('msg_slow', `${RECEIVER}${path}?delayMs=3000`), new Date(), 300);
    expect(result).toEqual({ ok: false, status: null, error: 'no answer within 0.3 s' });
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('a failed attempt is retried later; a refused connection is a failure too', async () => {
    const name = `hub-r-${crypto.randomUUID()}`;
    const stub = hubOf(name);
    const path = box();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    await stub.enqueueDeliveries(ref(name), [job('msg_500', `${RECEIVER}${path}?status=500`), job('msg_refused', 'http://127.0.0.1:9/x', 'standard', 'rule-y')]);
    await runDurableObjectAlarm(stub);
    const [d] = await until(() => stub.listDeliveries(ref(name), 'rule-x'), (l: Delivery[]) => l[0]?.attempts === 1);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, responseStatus: 500, error: 'answered HTTP 500' });
    expect(Date.parse(d!.nextAttemptAt!) - Date.parse(d!.lastAttemptAt!)).toBeGreaterThanOrEqual(4_000);
    const [r] = await until(() => stub.listDeliveries(ref(name), 'rule-y'), (l: Delivery[]) => l[0]?.attempts === 1);
    expect(r).toMatchObject({ status: 'pending', attempts: 1, responseStatus: null });
    expect(r!.error).toBeTruthy();
    // The alarm is armed for the retry.
    await runInDurableObject(stub, async (_hub, state) => {
      expect(await state.storage.getAlarm()).toBe(Math.min(Date.parse(d!.nextAttemptAt!), Date.parse(r!.nextAttemptAt!)));
    });
  });

  it('pending deliveries survive a restart, and the new instance arms the alarm for them', async () => {
    const name = `hub-restart-${crypto.randomUUID()}`;
    const stub = hubOf(name);
    const path = box();
    await stub.enqueueDeliveries(ref(name), [job('msg_restart', `${RECEIVER}${path}`)]);
    // The alarm lost (as if it never got set), then the object restarted.
    await runInDurableObject(stub, (_hub, state) => state.storage.deleteAlarm());
    await abortAllDurableObjects();
    const again = hubOf(name);
    expect(await again.listDeliveries(ref(name), 'rule-x')).toEqual([expect.objectContaining({ id: 'msg_restart', status: 'pending', attempts: 0 })]);
    await runInDurableObject(again, async (_hub, state) => expect(await state.storage.getAlarm()).not.toBeNull());
    await runDurableObjectAlarm(again);
    await until(() => again.listDeliveries(ref(name), 'rule-x'), (l: Delivery[]) => l[0]?.status === 'delivered');
    expect(await received(path)).toHaveLength(1);
  });

  it('a slow destination holds up neither the alarm nor ingestion', async () => {
    const ws = await createWorkspace('slow-dest');
    const stub = hub(ws.id) as DurableObjectStub<WorkspaceHub>;
    const path = box();
    await stub.enqueueDeliveries({ id: ws.id, slug: ws.slug, timezone: 'UTC' }, [job('msg_slowdest', `${RECEIVER}${path}?delayMs=3000`)]);
    const t0 = Date.now();
    await runDurableObjectAlarm(stub);
    expect(Date.now() - t0).toBeLessThan(2_500);
    await until(() => received(path), (l) => l.length > 0);
    // The destination has the request and has not answered: events are acknowledged and drained meanwhile.
    const t1 = Date.now();
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(5, 'slow') } });
    expect(res.status).toBe(202);
    expect(await stub.flush()).toBe(0);
    expect(Date.now() - t1).toBeLessThan(2_500);
    expect((await stub.listDeliveries({ id: ws.id, slug: ws.slug, timezone: 'UTC' }, 'rule-x'))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    const [d] = await until(() => stub.listDeliveries({ id: ws.id, slug: ws.slug, timezone: 'UTC' }, 'rule-x'), (l: Delivery[]) => l[0]?.status === 'delivered');
    expect(d).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('destroy drops the queue', async () => {
    const name = `hub-destroy-${crypto.randomUUID()}`;
    const stub = hubOf(name);
    await stub.enqueueDeliveries(ref(name), [job('msg_gone', `${RECEIVER}${box()}?status=500`)]);
    await stub.destroy();
    expect(await stub.listDeliveries(ref(name), 'rule-x')).toEqual([]);
    await runInDurableObject(stub, async (_hub, state) => expect(await state.storage.getAlarm()).toBeNull());
  });
});
