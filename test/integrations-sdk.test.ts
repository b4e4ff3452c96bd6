import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EdgePulse } from '../src/client/index';
import { call, createWorkspace, flush } from './helpers';

/** The SDK talking to the real Worker (Hono app, Durable Object, D1) in this workerd. */
const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input as string, init));

describe('edgepulse/client against the Worker', () => {
  it('batches by flushAt, fixes ids up front, and drops only the events a 400 names', async () => {
    const ws = await createWorkspace('sdk');
    const failed: Array<{ message: string; ids: string[] }> = [];
    const ep = new EdgePulse({
      host: 'http://edgepulse.test/', workspace: ws.slug, key: ws.keys.ingest, flushAt: 3, flushIntervalMs: 0, fetch: workerFetch,
      onError: (e, events) => failed.push({ message: e.message, ids: events.map((x) => x.id) }),
    });
    const ids = [
      ep.track({ type: 'a', userId: 'u1', timestamp: new Date(Date.now() - 1000) }),
      ep.track({ type: 'b', properties: { n: 1 } }),
      ep.track({ type: ' bad type ' }),
      ep.track({ type: 'c', id: 'my-own-id' }),
    ];
    expect(ids[3]).toBe('my-own-id');
    expect(ids.every((id) => /^[A-Za-z0-9_-]{1,64}$/.test(id))).toBe(true);
    await ep.close();
    expect(() => ep.track({ type: 'late' })).toThrow(/close/);
    expect(ep.stats).toMatchObject({ delivered: 3, failed: 1 });
    expect(failed).toHaveLength(1);
    expect(failed[0].ids).toEqual([ids[2]]);
    expect(failed[0].message).toMatch(/400/);
    await flush(ws);
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read });
    expect(res.json.events.map((e: any) => e.id).sort()).toEqual([ids[0], ids[1], ids[3]].sort());
  });

  it('gives up after maxRetries on 5xx and reports the events, and never rejects flush()', async () => {
    let tries = 0;
    const failing: typeof fetch = async () => {
      tries++;
      return new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503 });
    };
    const failed: string[] = [];
    const ep = new EdgePulse({ host: 'http://x.test', workspace: 'w', key: 'pk_x', maxRetries: 3, retryBaseMs: 1, flushIntervalMs: 0, fetch: failing, onError: (_, ev) => failed.push(...ev.map((e) => e.id)) });
    const id = ep.track({ type: 'a' });
    await expect(ep.flush()).resolves.toBeUndefined();
    expect(tries).toBe(4);
    expect(failed).toEqual([id]);
    expect(ep.stats).toMatchObject({ delivered: 0, failed: 1, retries: 3 });
  });
});
