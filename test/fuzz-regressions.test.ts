import { AccessToken } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { call, createWorkspace } from './helpers';

/** Cases the route fuzzer (test/fuzz-routes.test.ts) found answering 5xx, kept as plain regression tests. */
describe('inputs the fuzzer found answering 5xx', () => {
  it('a Segment message nested deeper than JSON.stringify can go is a 400, not a 500 (stack overflow)', async () => {
    const ws = await createWorkspace('fuzz-reg');
    // JSON.parse takes any depth; JSON.stringify overflows the stack somewhere past ~10,000 levels.
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const basic = `Basic ${btoa(`${ws.keys.ingest}:`)}`;
    for (const [path, body] of [
      ['/v1/track', `{"event":"x","userId":"u1","traits":{"__proto__":true,"𱥉":${deep(10_000)}}}`],
      ['/v1/batch', `{"batch":[{"type":"track","event":"x","userId":"u1","properties":{"__proto__":true,"𱥉":${deep(10_000)}}}]}`],
    ]) {
      const res = await call('POST', path, { rawBody: body, headers: { authorization: basic, 'content-type': 'application/json' } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.message).toMatch(/nests too deeply/);
    }
  });

  it('an event nested deeper than JSON.stringify can go is a 400 naming it, not a 500 (stack overflow in the size check)', async () => {
    const ws = await createWorkspace('fuzz-reg');
    const deep = `{"__proto__":true,"𱥉":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      rawBody: `{"events":[{"type":"ok"},{"type":"x","sessionId":${deep}}]}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.issues).toContainEqual({ path: 'events.1', message: 'nests too deeply' });
  });

  it('a Segment groupId or previousId that is a deeply nested array is ignored, not a 500 (String() recursion)', async () => {
    const ws = await createWorkspace('fuzz-reg');
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const basic = `Basic ${btoa(`${ws.keys.ingest}:`)}`;
    for (const [path, body] of [['/v1/group', `{"userId":"u1","groupId":${deep}}`], ['/v1/page', `{"type":"group","userId":"u1","groupId":${deep}}`], ['/v1/alias', `{"userId":"u1","previousId":${deep}}`]]) {
      const res = await call('POST', path, { rawBody: body, headers: { authorization: basic, 'content-type': 'application/json' } });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
  });

  it('a signed LiveKit webhook whose status or disconnectReason is a deeply nested array is not a 500 (String() recursion)', async () => {
    const ws = await createWorkspace('fuzz-reg');
    const livekit = { apiKey: 'APIreg', apiSecret: 'reg-livekit-secret-0123456789abcdefghij' };
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { livekit } })).status).toBe(200);
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const bodies = [
      `{"event":"egress_updated","id":"EV_r1","egressInfo":{"egressId":"EG_1","roomName":"standup","status":${deep}}}`,
      `{"event":"ingress_started","id":"EV_r2","ingressInfo":{"ingressId":"IN_1","roomName":"standup","inputType":${deep},"state":{"status":${deep}}}}`,
      `{"event":"participant_left","id":"EV_r3","room":{"name":"standup"},"participant":{"identity":"u1","disconnectReason":${deep}}}`,
    ];
    for (const body of bodies) {
      const token = new AccessToken(livekit.apiKey, livekit.apiSecret, { ttl: '5m' });
      token.sha256 = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)))));
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/webhooks/livekit`, { rawBody: body, headers: { authorization: await token.toJwt(), 'content-type': 'application/webhook+json' } });
      expect(res.status, `${body.slice(0, 60)}: ${res.text}`).toBeLessThan(500);
    }
  });
});
