import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
// What `edgepulse/client` and `edgepulse/hono` resolve to (checked against package.json's exports below).
import { EdgePulse } from '../../src/client/index';
import { edgepulse } from '../../src/client/hono';
import { readEvents, startFlakyProxy } from './flaky-proxy';
import { createWorkspace, startDevServer, type DevServer } from './server';

describe('server SDK and Hono middleware against a running Worker', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is what the package exports as edgepulse/client and edgepulse/hono', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    // Shipped built (npm run build): the same sources, bundled into dist/client.
    expect(pkg.exports['./client']).toEqual({ types: './dist/client/index.d.ts', default: './dist/client/index.js' });
    expect(pkg.exports['./hono']).toEqual({ types: './dist/client/hono.d.ts', default: './dist/client/hono.js' });
  });

  it('delivers every event exactly once through a flaky endpoint (503s, a 429 with Retry-After, a lost ack)', async () => {
    const { keys } = await createWorkspace(server, 'sdk-e2e');
    const plan = (i: number) =>
      i < 2 ? { action: 'fail' as const, status: 503 }
      : i === 2 ? { action: 'fail' as const, status: 429, headers: { 'retry-after': '1' } }
      : i === 3 ? { action: 'fail' as const, status: 503, forward: true } // stored, but the answer is lost
      : { action: 'forward' as const };
    const proxy = await startFlakyProxy(server.url, plan, (p) => p.includes('/events'));
    const failures: Error[] = [];
    const ep = new EdgePulse({ host: proxy.url, workspace: 'sdk-e2e', key: keys.ingest, flushAt: 10, flushIntervalMs: 50, maxRetries: 8, retryBaseMs: 50, onError: (e) => failures.push(e) });
    const ids: string[] = [];
    const started = Date.now();
    try {
      for (let i = 0; i < 25; i++) ids.push(ep.track({ type: 'job.done', userId: `u${i % 4}`, durationMs: i * 10, properties: { n: i } }));
      await ep.close();
    } finally {
      await proxy.close();
    }
    expect(failures).toEqual([]);
    expect(ep.stats).toMatchObject({ delivered: 25, failed: 0 });
    expect(ep.stats.retries).toBeGreaterThanOrEqual(4);
    const tries = proxy.seen.filter((r) => r.path.includes('/events')).sort((a, b) => a.n - b.n);
    expect(tries.slice(0, 4).map((r) => r.status)).toEqual([503, 503, 429, 503]);
    // Retry-After: 1 was honoured before the next try.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // Every try of a batch carried the same ids: fixed before the first try.
    const idsOf = (r: { body: string }) => JSON.parse(r.body).events.map((e: { id: string }) => e.id).join();
    expect(new Set(tries.map(idsOf)).size).toBeLessThan(tries.length);

    const events = await readEvents(server.url, 'sdk-e2e', keys.read, (e) => e.length >= 25);
    await new Promise((r) => setTimeout(r, 1500)); // a doubled copy would show up by now
    const settled = await readEvents(server.url, 'sdk-e2e', keys.read, () => true);
    expect(events.length).toBe(25);
    expect(settled.map((e) => e.id).sort()).toEqual([...ids].sort());
  });

  it('the middleware records each request as api.request via waitUntil, without delaying the response', async () => {
    const { keys } = await createWorkspace(server, 'hono-e2e');
    // Every first try of a delivery fails with 503, and deliveries are slow: the app's responses must not wait.
    const proxy = await startFlakyProxy(server.url, (i) => (i % 2 === 0 ? { action: 'fail', status: 503 } : { action: 'forward', delayMs: 300 }), (p) => p.includes('/events'));
    const ep = new EdgePulse({ host: proxy.url, workspace: 'hono-e2e', key: keys.ingest, flushIntervalMs: 0, retryBaseMs: 50 });
    const app = new Hono();
    app.use('*', edgepulse(ep, { userId: (c) => c.req.header('x-user') }));
    app.get('/items/:id', (c) => c.json({ id: c.req.param('id') }));
    app.post('/upload', async (c) => c.text(`got ${(await c.req.text()).length}`));
    app.get('/boom', () => {
      throw new Error('database on fire');
    });
    const pending: Promise<unknown>[] = [];
    const executionCtx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} };
    try {
      const t0 = performance.now();
      const a = await app.request('/items/42', { headers: { 'x-user': 'u_1' } }, {}, executionCtx);
      const elapsed = performance.now() - t0;
      const b = await app.request('/upload', { method: 'POST', body: 'x'.repeat(1000), headers: { 'content-length': '1000' } }, {}, executionCtx);
      const c = await app.request('/boom', {}, {}, executionCtx);
      expect([a.status, b.status, c.status]).toEqual([200, 200, 500]);
      expect(elapsed).toBeLessThan(250); // a delivery takes > 300 ms here: the response did not wait for it
      expect(pending).toHaveLength(3);
      await Promise.all(pending);
    } finally {
      await proxy.close();
    }
    expect(ep.stats).toMatchObject({ delivered: 3, failed: 0 });
    const events = await readEvents(server.url, 'hono-e2e', keys.read, (e) => e.length >= 3);
    expect(events).toHaveLength(3);
    const byRoute = Object.fromEntries(events.map((e) => [e.properties.route, e]));
    expect(byRoute['/items/:id']).toMatchObject({ type: 'api.request', userId: 'u_1', properties: { method: 'GET', status: 200 }, error: null });
    expect(byRoute['/upload']).toMatchObject({ bytesIn: 1000, properties: { method: 'POST', status: 200 } });
    expect(byRoute['/upload'].bytesOut).toBe('got 1000'.length);
    expect(byRoute['/boom']).toMatchObject({ properties: { status: 500 }, error: 'database on fire' });
    for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });
});
