import { AccessToken } from 'livekit-server-sdk';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

// A webhook receiver must not tell a prober which workspaces exist or have a secret: every request
// without a valid signature gets the same status, body and headers.

const WHSEC = `whsec_${btoa('unverified-test-secret-0123456789')}`;
const LK = { apiKey: 'APIunverified1', apiSecret: 'lk-unverified-secret-0123456789abcdefgh' };

interface Answer { status: number; text: string; headers: Array<[string, string]> }
const answer = (res: { status: number; text: string; headers: Headers }): Answer => ({ status: res.status, text: res.text, headers: [...res.headers] });

function standardSigned(body: string, at: Date, secret = WHSEC) {
  return { 'webhook-id': 'msg_probe', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_probe', at, body) };
}

async function livekitSigned(body: string, creds = LK, ttl: string | number = '5m') {
  const token = new AccessToken(creds.apiKey, creds.apiSecret, { ttl });
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(hash)));
  return token.toJwt();
}

const BODY = JSON.stringify({ type: 'probe', data: {} });
const LK_BODY = JSON.stringify({ event: 'room_started', id: 'EV_probe', room: { name: 'r', sid: 'RM_1' }, createdAt: String(Math.floor(Date.now() / 1000)) });

describe('webhook receivers answer every unverified request identically', () => {
  let withSecret: TestWorkspace;
  let withoutSecret: TestWorkspace;
  beforeAll(async () => {
    withSecret = await createWorkspace('unv');
    withoutSecret = await createWorkspace('unv-none');
    const patch = await call('PATCH', `/api/v1/workspaces/${withSecret.slug}`, { token: withSecret.keys.admin, body: { webhookSecret: WHSEC, livekit: LK } });
    expect(patch.status).toBe(200);
  });

  it('Standard Webhooks: no such workspace, no secret, wrong signature, stale timestamp, missing headers', async () => {
    const post = async (slug: string, headers: Record<string, string>, body = BODY) =>
      answer(await call('POST', `/api/v1/workspaces/${slug}/webhooks/standard`, { rawBody: body, headers: { 'content-type': 'application/json', ...headers } }));
    const other = `whsec_${btoa('some-other-secret-entirely-here')}`;
    const cases: Record<string, Answer> = {
      'no such workspace': await post('no-such-workspace-unv', standardSigned(BODY, new Date())),
      'no secret set': await post(withoutSecret.slug, standardSigned(BODY, new Date())),
      'wrong signature': await post(withSecret.slug, standardSigned(BODY, new Date(), other)),
      'stale timestamp': await post(withSecret.slug, standardSigned(BODY, new Date(Date.now() - 10 * 60_000))),
      'timestamp not a number': await post(withSecret.slug, { ...standardSigned(BODY, new Date()), 'webhook-timestamp': 'soon' }),
      'changed body': await post(withSecret.slug, standardSigned(BODY, new Date()), BODY.replace('probe', 'prob3')),
      'missing headers': await post(withSecret.slug, {}),
    };
    const first = cases['no such workspace'];
    expect(first.status).toBe(401);
    expect(JSON.parse(first.text).error.code).toBe('invalid_signature');
    expect(JSON.parse(first.text).error.message).not.toMatch(/no-such-workspace/);
    for (const [name, res] of Object.entries(cases)) expect(res, name).toEqual(first);
    // The same request, correctly signed, is accepted: the cases differ only in what they probe.
    const ok = await call('POST', `/api/v1/workspaces/${withSecret.slug}/webhooks/standard`, { rawBody: BODY, headers: { 'content-type': 'application/json', ...standardSigned(BODY, new Date()) } });
    expect(ok.status, ok.text).toBe(202);
  });

  it('LiveKit: no such workspace, no credentials, wrong secret, other API key, expired token, missing header', async () => {
    const post = async (slug: string, authorization?: string, body = LK_BODY) =>
      answer(await call('POST', `/api/v1/workspaces/${slug}/webhooks/livekit`, { rawBody: body, headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) } }));
    const cases: Record<string, Answer> = {
      'no such workspace': await post('no-such-workspace-unv', await livekitSigned(LK_BODY)),
      'no credentials set': await post(withoutSecret.slug, await livekitSigned(LK_BODY)),
      'wrong secret': await post(withSecret.slug, await livekitSigned(LK_BODY, { ...LK, apiSecret: 'not-the-secret-0123456789abcdefghijkl' })),
      'other API key': await post(withSecret.slug, await livekitSigned(LK_BODY, { ...LK, apiKey: 'APIsomeoneelse' })),
      'expired token': await post(withSecret.slug, await livekitSigned(LK_BODY, LK, -120)),
      'changed body': await post(withSecret.slug, await livekitSigned(LK_BODY), LK_BODY.replace('RM_1', 'RM_2')),
      'missing header': await post(withSecret.slug),
    };
    const first = cases['no such workspace'];
    expect(first.status).toBe(401);
    expect(JSON.parse(first.text).error.code).toBe('invalid_signature');
    for (const [name, res] of Object.entries(cases)) expect(res, name).toEqual(first);
    await flush(withSecret);
    expect(await archivedCount(withSecret.id, (r) => r.id === 'EV_probe')).toBe(0);
    const ok = await call('POST', `/api/v1/workspaces/${withSecret.slug}/webhooks/livekit`, { rawBody: LK_BODY, headers: { 'content-type': 'application/webhook+json', authorization: await livekitSigned(LK_BODY) } });
    expect(ok.status, ok.text).toBe(202);
  });
});
