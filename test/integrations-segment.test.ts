import { describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

const basic = (key: string) => ({ authorization: `Basic ${btoa(`${key}:`)}` });

async function events(ws: TestWorkspace) {
  await flush(ws);
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000`, { token: ws.keys.read });
  return res.json.events as Array<Record<string, any>>;
}

describe('Segment-compatible routes', () => {
  it('maps each call, merges the batch context, and answers { success: true }', async () => {
    const ws = await createWorkspace('seg');
    const batch = {
      context: { library: { name: 'analytics-python', version: '2.3.0' }, os: { name: 'iOS', version: '18.1' } },
      batch: [
        { type: 'track', event: 'Order Completed', messageId: 'm-1', userId: 'u1', properties: { revenue: 42.5, plan: 'pro', items: [1, 2], nested: { a: 1 } }, context: { page: { url: 'https://shop.example/checkout' } } },
        { type: 'identify', messageId: 'm-2', anonymousId: 'anon-7', traits: { email: 'a@example.com', age: 30 } },
        { type: 'page', messageId: 'm-3', userId: 'u1', name: 'Home', properties: { path: '/' } },
        { type: 'screen', messageId: 'm-4', userId: 'u1', name: 'Settings' },
        { type: 'group', messageId: 'm-5', userId: 'u1', groupId: 'acme', traits: { seats: 10 } },
        { type: 'alias', messageId: 'weird id/with:chars', userId: 'u1', previousId: 'anon-7' },
      ],
    };
    const res = await call('POST', '/v1/batch', { body: batch, headers: basic(ws.keys.ingest) });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ success: true });
    const single = await call('POST', '/v1/track', { body: { event: 'Signed Up', userId: 'u2', messageId: 'm-6', writeKey: ws.keys.ingest } });
    expect(single.json).toEqual({ success: true });

    const got = await events(ws);
    expect(got.map((e) => e.type).sort()).toEqual(['Order Completed', 'Signed Up', 'alias', 'group', 'identify', 'pageview', 'screen'].sort());
    const by = (t: string) => got.find((e) => e.type === t)!;
    expect(by('Order Completed')).toMatchObject({ id: 'm-1', userId: 'u1', value: 42.5, properties: { revenue: 42.5, plan: 'pro' } });
    expect(by('Order Completed').context).toMatchObject({ url: 'https://shop.example/checkout', sdk: 'analytics-python/2.3.0', os: 'iOS 18.1', platform: 'iOS' });
    expect(by('identify')).toMatchObject({ userId: 'anon-7', properties: { email: 'a@example.com', age: 30 } });
    expect(by('pageview').properties).toEqual({ name: 'Home', path: '/' });
    expect(by('screen').properties).toEqual({ name: 'Settings' });
    expect(by('group').properties).toEqual({ groupId: 'acme', seats: 10 });
    expect(by('alias').properties).toEqual({ previousId: 'anon-7' });
    expect(by('alias').id).toMatch(/^h_[0-9a-f]{40}$/);

    // Resent messages (Segment's retries) are not stored twice, including the hashed id.
    expect((await call('POST', '/v1/batch', { body: batch, headers: { ...basic(ws.keys.ingest), 'x-retry-count': '1' } })).status).toBe(200);
    expect(await events(ws)).toHaveLength(7);
  });

  it('enforces 32 KB a message and 500 KB a batch with 400, and needs a write key', async () => {
    const ws = await createWorkspace('seglim');
    const big = 'x'.repeat(33 * 1024);
    const tooBigMessage = await call('POST', '/v1/batch', { body: { batch: [{ type: 'track', event: 'a', userId: 'u', properties: { big } }] }, headers: basic(ws.keys.ingest) });
    expect(tooBigMessage.status).toBe(400);
    expect(tooBigMessage.json.error.issues[0].path).toBe('batch.0');
    const chunk = 'y'.repeat(20 * 1024);
    const manyMessages = Array.from({ length: 30 }, (_, i) => ({ type: 'track', event: 'a', userId: 'u', messageId: `b-${i}`, properties: { chunk } }));
    const tooBigBatch = await call('POST', '/v1/batch', { body: { batch: manyMessages }, headers: basic(ws.keys.ingest) });
    expect(tooBigBatch.status).toBe(400);
    expect(tooBigBatch.json.error.message).toMatch(/512000 bytes/);
    const tooBigSingle = await call('POST', '/v1/track', { body: { event: 'a', userId: 'u', properties: { big } }, headers: basic(ws.keys.ingest) });
    expect(tooBigSingle.status).toBe(400);

    expect((await call('POST', '/v1/track', { body: { event: 'a', userId: 'u' } })).status).toBe(401);
    expect((await call('POST', '/v1/track', { body: { event: 'a', userId: 'u' }, headers: basic('pk_unknownunknownunknown1') })).status).toBe(401);
    expect((await call('POST', '/v1/track', { body: { event: 'a', userId: 'u' }, headers: basic(ws.keys.read) })).status).toBe(403);
    const noEvent = await call('POST', '/v1/batch', { body: { batch: [{ type: 'track', userId: 'u' }, { type: 'bogus' }] }, headers: basic(ws.keys.ingest) });
    expect(noEvent.status).toBe(400);
    expect(noEvent.json.error.issues.map((i: any) => i.path)).toEqual(['batch.0.event', 'batch.1.type']);
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(0);
  });
});

describe('Segment write keys', () => {
  it('are ingest keys only: read and admin keys get 403 and store nothing', async () => {
    const ws = await createWorkspace('segment-keys');
    const basic = (key: string) => ({ authorization: `Basic ${btoa(`${key}:`)}` });
    for (const key of [ws.keys.read, ws.keys.admin]) {
      const res = await call('POST', '/v1/track', { headers: basic(key), body: { messageId: `sk-${key.slice(0, 2)}`, userId: 'u1', event: 'x' } });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
    }
    const ok = await call('POST', '/v1/track', { headers: basic(ws.keys.ingest), body: { messageId: 'pk-ok', userId: 'u1', event: 'x' } });
    expect(ok.status).toBe(200);
    expect(await flush(ws)).toBe(0);
    expect(await archivedCount(ws.id)).toBe(1);
  });
});

describe('OpenAPI document', () => {
  it('describes the webhook, Segment and tracker routes', async () => {
    const res = await call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.json.paths);
    for (const p of ['/api/v1/workspaces/{ws}/webhooks/livekit', '/api/v1/workspaces/{ws}/webhooks/standard', '/t.js',
      '/v1/batch', '/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/group', '/v1/alias']) {
      expect(paths, p).toContain(p);
    }
    expect(res.json.components.securitySchemes.segmentWriteKey).toMatchObject({ type: 'http', scheme: 'basic' });
  });
});
