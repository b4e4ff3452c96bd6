import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EdgePulse } from '../src/client/index';
import { archivedCount } from './archived';
import { call, createWorkspace, flush } from './helpers';

const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input as string, init));

describe('edgepulse/client and 429', () => {
  it('waits out Retry-After against the real Worker and delivers once, using up none of its retries', async () => {
    const ws = await createWorkspace('sdk-rl');
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { rateLimit: { eventsPerSecond: 5 } } })).status).toBe(200);
    const statuses: Array<{ status: number; retryAfter: string | null; at: number }> = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await workerFetch(input, init);
      statuses.push({ status: res.status, retryAfter: res.headers.get('retry-after'), at: Date.now() });
      return res;
    };
    const failed: Error[] = [];
    const ep = new EdgePulse({ host: 'http://edgepulse.test', workspace: ws.slug, key: ws.keys.ingest, flushAt: 500, flushIntervalMs: 0, maxRetries: 0, fetch: recording, onError: (e) => failed.push(e) });
    for (let i = 0; i < 45; i++) ep.track({ type: 'first', id: `f-${i}` });
    await ep.flush(); // 45 of the burst of 50
    for (let i = 0; i < 15; i++) ep.track({ type: 'second', id: `s-${i}` });
    await ep.close();
    expect(failed).toEqual([]);
    expect(ep.stats).toMatchObject({ delivered: 60, failed: 0, retries: 1 });
    expect(statuses.map((s) => s.status)).toEqual([202, 429, 202]);
    // Told to come back in 2 s (10 tokens short at 5 a second, less what refilled meanwhile), it did not come back sooner.
    expect(statuses[1].retryAfter).toMatch(/^[12]$/);
    expect(statuses[2].at - statuses[1].at).toBeGreaterThanOrEqual(Number(statuses[1].retryAfter) * 1000);
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(60);
  });

  it('keeps a batch through any number of 429s with Retry-After, but counts a 429 without it as a retry', async () => {
    let answers = 0;
    const limited = (withHeader: boolean, times: number): typeof fetch => async () =>
      ++answers <= times
        ? new Response('{"error":{"code":"rate_limited","message":"slow down"}}', { status: 429, headers: withHeader ? { 'retry-after': '0' } : {} })
        : new Response('{"accepted":1,"duplicates":0}', { status: 202 });
    const ep = new EdgePulse({ host: 'http://x.test', workspace: 'w', key: 'pk_x', maxRetries: 2, retryBaseMs: 1, flushIntervalMs: 0, fetch: limited(true, 10) });
    ep.track({ type: 'a' });
    await ep.close();
    expect(ep.stats).toMatchObject({ delivered: 1, failed: 0, retries: 10 });

    answers = 0;
    const failed: string[] = [];
    const bare = new EdgePulse({ host: 'http://x.test', workspace: 'w', key: 'pk_x', maxRetries: 2, retryBaseMs: 1, flushIntervalMs: 0, fetch: limited(false, 10), onError: (e) => failed.push(e.message) });
    bare.track({ type: 'a' });
    await bare.close();
    expect(bare.stats).toMatchObject({ delivered: 0, failed: 1, retries: 2 });
    expect(failed[0]).toMatch(/429/);
  });
});
