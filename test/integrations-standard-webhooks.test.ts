import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

const SECRET = `whsec_${btoa('edgepulse-standard-webhooks-test-key!')}`;
const signer = new Webhook(SECRET);

function signed(id: string, payload: unknown, at = new Date(), sign: Webhook = signer) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { body, headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': sign.sign(id, at, body) } };
}

async function post(ws: TestWorkspace, req: { body: string; headers: Record<string, string> }) {
  return call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/standard`, { rawBody: req.body, headers: { 'content-type': 'application/json', ...req.headers } });
}

async function stored(ws: TestWorkspace) {
  await flush(ws);
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000`, { token: ws.keys.read });
  return res.json.events as Array<Record<string, any>>;
}

describe('Standard Webhooks', () => {
  let ws: TestWorkspace;
  beforeAll(async () => {
    ws = await createWorkspace('swh');
  });

  it('answers 401 invalid_signature, saying how to set the secret, while the workspace has none (and for an unknown workspace)', async () => {
    const unknown = await post({ ...ws, slug: 'no-such-ws-swh' }, signed('msg_none', { type: 'x', data: {} }));
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.code).toBe('invalid_signature');
    const res = await post(ws, signed('msg_none', { type: 'x', data: {} }));
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('invalid_signature');
    expect(res.json.error.message).toMatch(/PATCH \/api\/v1\/workspaces\/.+"webhookSecret"/);
  });

  it('turns a signed delivery into one event, and its replay into a duplicate', async () => {
    const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { webhookSecret: SECRET } });
    expect(patch.status).toBe(200);
    expect(patch.json.workspace.webhookSecretConfigured).toBe(true);
    expect(JSON.stringify(patch.json)).not.toContain(SECRET);

    const payload = {
      type: 'invoice.paid',
      timestamp: new Date(Date.now() - 60_000).toISOString(),
      data: { userId: 'cust_9', amount: 1999, currency: 'EUR', paid: true, note: null, lines: [{ sku: 'x' }], customer: { id: 'c' } },
    };
    const first = await post(ws, signed('msg_2Lh9invoice', payload));
    expect(first.status, first.text).toBe(202);
    expect(first.json).toEqual({ accepted: 1, duplicates: 0 });
    // The same delivery again (the sender's retry, freshly signed) is a duplicate.
    const replay = await post(ws, signed('msg_2Lh9invoice', payload));
    expect(replay.json).toEqual({ accepted: 0, duplicates: 1 });
    // A replay of the very same request (same headers) is a duplicate too.
    const req = signed('msg_exact_replay', { type: 'invoice.voided', data: {} });
    expect((await post(ws, req)).json).toEqual({ accepted: 1, duplicates: 0 });
    expect((await post(ws, req)).json).toEqual({ accepted: 0, duplicates: 1 });

    const events = await stored(ws);
    const paid = events.filter((e) => e.type === 'invoice.paid');
    expect(paid).toHaveLength(1);
    expect(paid[0]).toMatchObject({ id: 'msg_2Lh9invoice', userId: 'cust_9', timestamp: payload.timestamp });
    expect(paid[0].properties).toEqual({ userId: 'cust_9', amount: 1999, currency: 'EUR', paid: true, note: null });
    expect(events.filter((e) => e.type === 'invoice.voided')).toHaveLength(1);
  });

  it('accepts any of several space-separated v1 signatures (secret rotation)', async () => {
    const old = new Webhook(`whsec_${btoa('the-previous-secret-of-this-sender')}`);
    const req = signed('msg_rotated', { type: 'rotated', data: { n: 1 } });
    const oldSig = old.sign('msg_rotated', new Date(Number(req.headers['webhook-timestamp']) * 1000), req.body);
    const res = await post(ws, { body: req.body, headers: { ...req.headers, 'webhook-signature': `${oldSig} ${req.headers['webhook-signature']}` } });
    expect(res.status, res.text).toBe(202);
    // and the event's time defaults to the webhook's timestamp
    const e = (await stored(ws)).find((x) => x.id === 'msg_rotated')!;
    expect(e.timestamp).toBe(new Date(Number(req.headers['webhook-timestamp']) * 1000).toISOString());
  });

  it('refuses a stale timestamp, a bad signature, a changed body and missing headers with 401, storing nothing', async () => {
    await flush(ws);
    const before = await archivedCount(ws.id);
    const other = new Webhook(`whsec_${btoa('some-other-secret-entirely-here')}`);
    const good = signed('msg_bad', { type: 'evil', data: {} });
    const cases: Array<[string, { body: string; headers: Record<string, string> }]> = [
      ['stale', signed('msg_bad', { type: 'evil', data: {} }, new Date(Date.now() - 6 * 60_000))],
      ['future', signed('msg_bad', { type: 'evil', data: {} }, new Date(Date.now() + 6 * 60_000))],
      ['bad signature', signed('msg_bad', { type: 'evil', data: {} }, new Date(), other)],
      ['changed body', { body: good.body.replace('evil', 'evi1'), headers: good.headers }],
      ['changed id', { body: good.body, headers: { ...good.headers, 'webhook-id': 'msg_other' } }],
      ['no signature', { body: good.body, headers: { 'webhook-id': 'msg_bad', 'webhook-timestamp': good.headers['webhook-timestamp'] } }],
      ['no headers', { body: good.body, headers: {} }],
    ];
    for (const [name, req] of cases) {
      const res = await post(ws, req);
      expect(res.status, name).toBe(401);
      expect(res.json.error.code, name).toBe('invalid_signature');
    }
    // the stale one is stale by our clock, just as the package itself judges it
    expect(() => signer.verify(cases[0][1].body, cases[0][1].headers)).toThrow(/timestamp/i);
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(before);
  });

  it('answers 400 for a signed body without a valid type, storing nothing', async () => {
    const res = await post(ws, signed('msg_notype', { data: { a: 1 } }));
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.issues[0].path).toBe('type');
  });
});
