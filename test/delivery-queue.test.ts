import { env, runInDurableObject } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { DeliveryJob } from '../src/alerts/delivery-job';
import { DELIVERY_BACKOFF_MS, DeliveryQueue } from '../src/alerts/delivery-queue';
import type { AttemptResult } from '../src/alerts/send-delivery';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { LIMITS } from '../src/shared/limits';

const SECRET = `whsec_${btoa('a-test-secret-of-enough-bytes!!')}`;
const T0 = Date.UTC(2026, 0, 5, 12);

function job(id: string, ownerId = 'rule-1'): DeliveryJob {
  return {
    id,
    ownerId,
    type: 'alert.firing',
    destination: { url: 'https://hooks.example.com/x', format: 'standard' },
    secret: SECRET,
    payload: { type: 'alert.firing', timestamp: new Date(T0).toISOString(), data: { alertId: ownerId, name: 'errors', value: 3 } },
  };
}

/** A queue in a fresh hub's storage with a scripted sender: each attempt takes the next result (the last repeats). */
async function withQueue(results: AttemptResult[], fn: (q: DeliveryQueue, sent: Array<{ id: string; at: number }>, sql: SqlStorage) => Promise<void>): Promise<void> {
  const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`queue-${crypto.randomUUID()}`)) as DurableObjectStub<WorkspaceHub>;
  await runInDurableObject(stub, async (_hub, state) => {
    const sent: Array<{ id: string; at: number }> = [];
    const send = async (j: DeliveryJob, at: Date) => {
      sent.push({ id: j.id, at: at.getTime() });
      return results[Math.min(sent.length - 1, results.length - 1)]!;
    };
    await fn(new DeliveryQueue(state.storage.sql, { send, random: () => 0.5 }), sent, state.storage.sql);
  });
}

const fail500: AttemptResult = { ok: false, status: 500, error: 'answered HTTP 500' };
const ok: AttemptResult = { ok: true, status: 200, error: null };
const timeout: AttemptResult = { ok: false, status: null, error: 'no answer within 10 s' };

describe('delivery queue', () => {
  it('retries with the backoff schedule under the same id until a 2xx', async () => {
    await withQueue([fail500, timeout, fail500, ok], async (q, sent) => {
      q.enqueue([job('msg_a')], T0);
      let now = T0;
      for (let i = 0; i < 4; i++) {
        expect(q.nextDueAt()).toBeLessThanOrEqual(now);
        await q.runDue(now);
        const [d] = q.list('rule-1');
        expect(d!.attempts).toBe(i + 1);
        if (i < 3) {
          expect(d!.status).toBe('pending');
          const wait = Date.parse(d!.nextAttemptAt!) - now;
          // random 0.5 = no jitter; the attempt itself took a few ms of real time.
          expect(wait).toBeGreaterThanOrEqual(DELIVERY_BACKOFF_MS[i]!);
          expect(wait).toBeLessThan(DELIVERY_BACKOFF_MS[i]! + 1_000);
          // Not due before its time.
          await q.runDue(now + DELIVERY_BACKOFF_MS[i]! - 1_000);
          expect(sent).toHaveLength(i + 1);
          now = Date.parse(d!.nextAttemptAt!);
        }
      }
      const [d] = q.list('rule-1');
      expect(d).toMatchObject({ id: 'msg_a', status: 'delivered', attempts: 4, responseStatus: 200, error: null, nextAttemptAt: null });
      expect(sent.map((s) => s.id)).toEqual(['msg_a', 'msg_a', 'msg_a', 'msg_a']);
      expect(q.nextDueAt()).toBeNull();
    });
  });

  it('gives up 24 h after creation: failed, with the last answer', async () => {
    await withQueue([fail500], async (q, sent) => {
      q.enqueue([job('msg_b')], T0);
      for (let now = T0, i = 0; i < 100; i++) {
        const due = q.nextDueAt();
        if (due === null) break;
        now = Math.max(now, due);
        await q.runDue(now);
      }
      const [d] = q.list('rule-1');
      expect(d).toMatchObject({ status: 'failed', responseStatus: 500, error: 'answered HTTP 500', nextAttemptAt: null });
      // 5 s, 30 s, 2 min, 10 min, 30 min, then hourly up to 24 h: 27 attempts.
      expect(d!.attempts).toBe(sent.length);
      expect(sent.length).toBeGreaterThanOrEqual(25);
      expect(sent.length).toBeLessThanOrEqual(29);
      expect(sent.at(-1)!.at).toBeLessThanOrEqual(T0 + LIMITS.deliveryRetryMs);
      expect(sent.at(-1)!.at).toBeGreaterThan(T0 + LIMITS.deliveryRetryMs - 2 * 60 * 60_000);
    });
  });

  it('enqueueing an id again is a no-op, pending or done', async () => {
    await withQueue([ok], async (q, sent) => {
      q.enqueue([job('msg_c'), job('msg_c')], T0);
      q.enqueue([job('msg_c')], T0 + 1);
      expect(q.list('rule-1')).toHaveLength(1);
      await q.runDue(T0 + 10);
      q.enqueue([job('msg_c')], T0 + 20);
      await q.runDue(T0 + 30);
      expect(sent).toHaveLength(1);
      expect(q.list('rule-1')[0]).toMatchObject({ status: 'delivered', attempts: 1, at: new Date(T0).toISOString() });
    });
  });

  it('keeps the newest LIMITS.deliveriesListed finished deliveries per owner, never a pending one', async () => {
    await withQueue([ok], async (q) => {
      const n = LIMITS.deliveriesListed + 30;
      for (let i = 0; i < n; i++) {
        q.enqueue([job(`msg_p${i}`, 'rule-p')], T0 + i);
        await q.runDue(T0 + i);
      }
      q.enqueue([job('msg_other', 'rule-q')], T0);
      const listed = q.list('rule-p');
      expect(listed).toHaveLength(LIMITS.deliveriesListed);
      expect(listed[0]!.id).toBe(`msg_p${n - 1}`);
      expect(listed.at(-1)!.id).toBe(`msg_p${n - LIMITS.deliveriesListed}`);
      expect(q.list('rule-q')).toHaveLength(1);
    });
    await withQueue([fail500], async (q) => {
      const n = LIMITS.deliveriesListed + 5;
      for (let i = 0; i < n; i++) q.enqueue([job(`msg_f${i}`, 'rule-f')], T0 + i);
      expect(q.pendingCount()).toBe(n);
    });
  });

  it('attempts due deliveries in parallel, at most LIMITS.deliveriesInParallel at once', async () => {
    const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`queue-${crypto.randomUUID()}`)) as DurableObjectStub<WorkspaceHub>;
    await runInDurableObject(stub, async (_hub, state) => {
      let open = 0;
      let most = 0;
      const send = async () => {
        most = Math.max(most, ++open);
        await new Promise((r) => setTimeout(r, 20));
        open--;
        return ok;
      };
      const q = new DeliveryQueue(state.storage.sql, { send });
      q.enqueue(Array.from({ length: 20 }, (_, i) => job(`msg_par${i}`)), T0);
      await q.runDue(T0);
      expect(most).toBe(LIMITS.deliveriesInParallel);
      expect(q.list('rule-1').every((d) => d.status === 'delivered')).toBe(true);
    });
  });

  it('an attempt cut short (a restart) leaves the delivery due again after its lease', async () => {
    await withQueue([ok], async (q, _sent, sql) => {
      q.enqueue([job('msg_l')], T0);
      // What a restart leaves behind: the lease written by an instance whose attempt never finished.
      void new DeliveryQueue(sql, { send: () => new Promise<AttemptResult>(() => {}) }).runDue(T0);
      await new Promise((r) => setTimeout(r, 10));
      const lease = q.nextDueAt()!;
      expect(lease).toBeGreaterThan(T0 + LIMITS.deliveryTimeoutMs);
      await q.runDue(lease - 1);
      expect(q.list('rule-1')[0]).toMatchObject({ status: 'pending', attempts: 0 });
      await q.runDue(lease);
      expect(q.list('rule-1')[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    });
  });

  it('forget drops an owner’s deliveries', async () => {
    await withQueue([fail500], async (q) => {
      q.enqueue([job('msg_g1', 'rule-g'), job('msg_g2', 'rule-h')], T0);
      q.forget('rule-g');
      expect(q.list('rule-g')).toEqual([]);
      expect(q.list('rule-h')).toHaveLength(1);
    });
  });
});

describe('signing', () => {
  it('verifies with standardwebhooks under the secret', async () => {
    const { deliveryBody, deliveryHeaders } = await import('../src/alerts/send-delivery');
    const j = job('msg_sig');
    const body = deliveryBody(j);
    const headers = deliveryHeaders(j, body, new Date());
    expect(headers['webhook-id']).toBe('msg_sig');
    expect(headers['content-type']).toBe('application/json');
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(j.payload);
    expect(() => new Webhook(SECRET).verify(body.replace('errors', 'errorz'), headers)).toThrow();
    expect(() => new Webhook(`whsec_${btoa('another-secret-entirely-here!!!')}`).verify(body, headers)).toThrow();
  });
});

describe('Slack body', () => {
  it('a scheduled report: headline, numbers with the change against the previous period, top types and rooms, the link', async () => {
    const { slackBody } = await import('../src/alerts/slack-body');
    const body = slackBody({
      type: 'report.scheduled',
      timestamp: new Date(T0).toISOString(),
      data: {
        workspace: 'acme',
        from: '2026-01-04T00:00:00.000Z',
        to: '2026-01-05T00:00:00.000Z',
        summary: { events: 1500, users: 40, errors: 15, errorRate: 0.01 },
        previous: { events: 1000, users: 50, errors: 5, errorRate: 0.005 },
        topTypes: [{ key: 'call.started', events: 900 }, { key: '<script>', events: 600 }],
        topRooms: [{ key: 'standup', events: 700 }],
        dashboardUrl: 'https://analytics.example.com/w/acme/reports?range=custom&from=a&to=b',
      },
    });
    expect(body.text).toBe(':bar_chart: acme: report for 2026-01-04T00:00:00.000Z – 2026-01-05T00:00:00.000Z: *Events* 1500 (+50%) · *Users* 40 (-20%) · *Errors* 15 (1%)');
    const section = (body.blocks[0] as { text: { text: string } }).text.text;
    expect(section).toContain('*Top types* call.started 900, &lt;script&gt; 600');
    expect(section).toContain('*Top rooms* standup 700');
    expect(body.blocks[1]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: '<https://analytics.example.com/w/acme/reports?range=custom&from=a&to=b|Open the dashboard>' }] });
  });
});
