import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, startFlakyProxy } from './flaky-proxy';
import { createWorkspace, startDevServer, type DevServer } from './server';

describe('Segment compatibility: an unmodified @segment/analytics-node against wrangler dev', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('delivers track, identify, page, screen, group and alias; its retried batch is not doubled', async () => {
    const { keys } = await createWorkspace(server, 'segment-e2e');
    // The first batch reaches the Worker, but its answer is lost (503): the client resends the same messageIds.
    const proxy = await startFlakyProxy(server.url, (i) => (i === 0 ? { action: 'fail', status: 503, forward: true } : { action: 'forward' }), (p) => p.startsWith('/v1/'));
    const errors: unknown[] = [];
    const analytics = new Analytics({ writeKey: keys.ingest, host: proxy.url, flushAt: 4, flushInterval: 200, maxRetries: 5 });
    analytics.on('error', (err) => errors.push(err));
    try {
      analytics.track({ userId: 'u1', event: 'Order Completed', properties: { revenue: 19.99, currency: 'EUR' } });
      analytics.identify({ userId: 'u1', traits: { plan: 'pro', seats: 3 } });
      analytics.page({ anonymousId: 'anon-1', name: 'Pricing', properties: { path: '/pricing' }, context: { page: { url: 'https://example.com/pricing' } } as never });
      analytics.screen({ userId: 'u2', name: 'Settings', context: { os: { name: 'iOS', version: '18.0' } } as never });
      analytics.group({ userId: 'u1', groupId: 'acme', traits: { industry: 'video' } });
      analytics.alias({ userId: 'u1', previousId: 'anon-1' });
      analytics.track({ anonymousId: 'anon-2', event: 'Video Played', properties: { seconds: 12 } });
      await analytics.closeAndFlush({ timeout: 30_000 });
    } finally {
      await proxy.close();
    }
    expect(errors).toEqual([]);
    const batches = proxy.seen.filter((r) => r.path === '/v1/batch').sort((a, b) => a.n - b.n);
    expect(batches[0]).toMatchObject({ status: 503, forwarded: true });
    // The resent batch carried the same messageIds as the one whose answer was lost.
    const ids = (r: { body: string }) => (JSON.parse(r.body).batch as Array<{ messageId: string }>).map((m) => m.messageId);
    const resent = batches.slice(1).find((r) => JSON.stringify(ids(r)) === JSON.stringify(ids(batches[0])));
    expect(resent?.status).toBe(200);

    const events = await readEvents(server.url, 'segment-e2e', keys.read, (e) => e.length >= 7);
    await new Promise((r) => setTimeout(r, 1500)); // time for a doubled copy to show up, were there one
    const settled = await readEvents(server.url, 'segment-e2e', keys.read, () => true);
    expect(settled).toHaveLength(7);
    expect(new Set(settled.map((e) => e.id)).size).toBe(7);
    expect(events.map((e) => e.type).sort()).toEqual(['Order Completed', 'Video Played', 'alias', 'group', 'identify', 'pageview', 'screen'].sort());
    const by = (t: string) => settled.find((e) => e.type === t)!;
    expect(by('Order Completed')).toMatchObject({ userId: 'u1', value: 19.99, properties: { revenue: 19.99, currency: 'EUR' } });
    expect(by('Order Completed').context.sdk).toMatch(/^@segment\/analytics-node\//);
    expect(by('pageview')).toMatchObject({ userId: 'anon-1', properties: { name: 'Pricing', path: '/pricing' } });
    expect(by('pageview').context.url).toBe('https://example.com/pricing');
    expect(by('screen').context.platform).toBe('iOS');
    expect(by('group').properties).toMatchObject({ groupId: 'acme', industry: 'video' });
    expect(by('alias').properties).toEqual({ previousId: 'anon-1' });
    expect(by('identify').properties).toEqual({ plan: 'pro', seats: 3 });
  });

  it('under the workspace’s rate limit: retries its 429s until taken, and every message is stored once', async () => {
    const slug = 'segment-limited';
    const { keys } = await createWorkspace(server, slug);
    const limit = 20;
    const patched = await fetch(`${server.url}/api/v1/workspaces/${slug}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: { eventsPerSecond: limit } }),
    });
    expect(patched.status).toBe(200);
    const proxy = await startFlakyProxy(server.url, () => ({ action: 'forward' }), (p) => p.startsWith('/v1/'));
    const errors: unknown[] = [];
    // analytics-node 2.3.0 looks for X-RateLimit-Reset with `in` on a fetch Headers object, which never finds it, so a
    // 429 is retried on its own backoff (25 ms doubling to at most 1 s): its default 3 retries span under a second,
    // 10 span about 6 s. The client sends what it must, the server's answer is the same either way.
    const analytics = new Analytics({ writeKey: keys.ingest, host: proxy.url, flushAt: 50, flushInterval: 200, maxRetries: 10 });
    analytics.on('error', (err) => errors.push(err));
    const n = 250; // the burst (200) and one batch more: 2.5 s at 20 a second
    const started = Date.now();
    try {
      for (let i = 0; i < n; i++) analytics.track({ userId: `u${i % 9}`, event: 'Item Viewed', messageId: `lim-${i}`, properties: { i } });
      await analytics.closeAndFlush({ timeout: 60_000 });
    } finally {
      await proxy.close();
    }
    const seconds = (Date.now() - started) / 1000;
    const statuses = proxy.seen.filter((r) => r.path === '/v1/batch').map((r) => r.status);
    console.log(`Segment under a limit of ${limit}/s: ${n} messages in ${seconds.toFixed(1)} s, answers ${JSON.stringify(statuses)}`);
    expect(errors).toEqual([]);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200)).toHaveLength(n / 50);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    // It could not have been faster than the limit allows.
    expect(seconds).toBeGreaterThanOrEqual((n - limit * 10) / limit - 1);

    const events = await readEvents(server.url, slug, keys.read, (e) => e.length >= n);
    await new Promise((r) => setTimeout(r, 1500)); // time for a doubled copy to show up, were there one
    const settled = await readEvents(server.url, slug, keys.read, () => true);
    expect(events.length).toBe(n);
    expect(settled.map((e) => e.id).sort()).toEqual(Array.from({ length: n }, (_, i) => `lim-${i}`).sort());
  });
});
