import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/live/rate-limit';
import { LIMITS } from '../src/shared/limits';
import { archivedCount } from './archived';
import { call, countRows, createWorkspace, flush, hub, makeEvents, type TestWorkspace } from './helpers';

describe('TokenBucket (injected clock)', () => {
  const clock = (start = 1_000_000) => {
    const c = { t: start, now: () => c.t };
    return c;
  };

  it('starts full with burstSeconds of the rate, takes one token per event, refills continuously', () => {
    const c = clock();
    const bucket = new TokenBucket(c.now, 10);
    expect(bucket.take(100, 10)).toEqual({ ok: true }); // the whole burst at once
    expect(bucket.take(1, 10)).toEqual({ ok: false, retryAfterSeconds: 1 });
    c.t += 550; // 5.5 tokens back
    expect(bucket.take(5, 10)).toEqual({ ok: true });
    expect(bucket.take(1, 10)).toEqual({ ok: false, retryAfterSeconds: 1 });
    c.t += 100_000; // never more than the burst
    expect(bucket.take(100, 10)).toEqual({ ok: true });
    expect(bucket.take(1, 10).ok).toBe(false);
  });

  it('refuses a whole request it cannot take (all or nothing) and says when enough will be there', () => {
    const c = clock();
    const b = new TokenBucket(c.now, 10);
    expect(b.take(40, 5)).toEqual({ ok: true }); // 10 of 50 left
    // 20 does not fit in 10: refused whole, and nothing is taken.
    expect(b.take(20, 5)).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(b.take(10, 5)).toEqual({ ok: true });
    // Retry-After is whole seconds, at least 1, and then the request fits.
    const refused = b.take(7, 5);
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 2 });
    c.t += 1399; // 7 tokens at 5 a second take 1.4 s
    expect(b.take(7, 5).ok).toBe(false);
    c.t += 1;
    expect(b.take(7, 5)).toEqual({ ok: true });
  });

  it('takes a request larger than the whole bucket once it is full, and the next waits until the excess is paid', () => {
    const c = clock();
    const bucket = new TokenBucket(c.now, 10);
    expect(bucket.take(5, 1).ok).toBe(true); // 5 of 10 left
    expect(bucket.take(50, 1)).toEqual({ ok: false, retryAfterSeconds: 5 }); // waits for a full bucket
    c.t += 5000;
    expect(bucket.take(50, 1)).toEqual({ ok: true }); // 10 - 50 = -40
    expect(bucket.take(1, 1)).toEqual({ ok: false, retryAfterSeconds: 41 });
    c.t += 41_000;
    expect(bucket.take(1, 1)).toEqual({ ok: true });
  });

  it('follows a changed rate: a lower one caps what is held, a higher one refills the time since the last request at once', () => {
    const c = clock();
    const bucket = new TokenBucket(c.now, 10);
    expect(bucket.take(1, 1000).ok).toBe(true); // 9,999 held
    expect(bucket.take(10, 1).ok).toBe(true); // now at most 10 held
    expect(bucket.take(1, 1).ok).toBe(false);
    c.t += 100;
    expect(bucket.take(2, 100)).toEqual({ ok: true }); // those 100 ms at 100 a second: 10 tokens, 8 left
    c.t += 10;
    expect(bucket.take(1, 100).ok).toBe(true); // +1, 8 left
    expect(bucket.take(9, 100)).toEqual({ ok: false, retryAfterSeconds: 1 });
    c.t += 100;
    expect(bucket.take(9, 1)).toEqual({ ok: false, retryAfterSeconds: 1 }); // lowered again: 8 + 0.1 held
  });

  it('gives back a refund, never above the burst', () => {
    const c = clock();
    const bucket = new TokenBucket(c.now, 10);
    expect(bucket.take(10, 1).ok).toBe(true);
    bucket.refund(4);
    expect(bucket.take(4, 1).ok).toBe(true);
    bucket.refund(1000);
    expect(bucket.take(10, 1).ok).toBe(true);
    expect(bucket.take(1, 1).ok).toBe(false);
  });
});

const limit = (ws: TestWorkspace, eventsPerSecond: number | null) =>
  call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { rateLimit: eventsPerSecond === null ? null : { eventsPerSecond } } });
const stored = async (ws: TestWorkspace) => {
  expect(await flush(ws)).toBe(0);
  return archivedCount(ws.id);
};
const expectLimited = (res: { status: number; json: any; headers: Headers }, maxSeconds: number) => {
  expect(res.status).toBe(429);
  expect(res.json.error.code).toBe('rate_limited');
  const after = res.headers.get('retry-after');
  expect(after).toMatch(/^\d+$/);
  expect(Number(after)).toBeGreaterThanOrEqual(1);
  expect(Number(after)).toBeLessThanOrEqual(maxSeconds);
  return Number(after);
};

describe('ingestion rate limit per workspace', () => {
  it('answers 429 rate_limited with Retry-After beyond the burst, and stores nothing of the refused request', async () => {
    const ws = await createWorkspace('rl');
    expect((await limit(ws, 1)).json.workspace.rateLimit).toEqual({ eventsPerSecond: 1, burstSeconds: LIMITS.rateLimitBurstSeconds });
    const path = `/api/v1/workspaces/${ws.slug}/events`;
    const ok = await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(8, 'rl-a') } });
    expect(ok.status).toBe(202);
    // A batch of 5 does not fit in the 2 tokens left: all of it is refused, even the 2 that would fit.
    const refused = await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(5, 'rl-b') } });
    expect(expectLimited(refused, 4)).toBe(3);
    expect(refused.json.error.message).toMatch(/at most 1 events a second/);
    expect((await call('POST', path, { token: ws.keys.ingest, body: { id: 'rl-c', type: 'single' } })).status).toBe(202);
    expect(await stored(ws)).toBe(9);
    expect(await archivedCount(ws.id, (r) => r.id!.startsWith('rl-b-'))).toBe(0);
    // The live view counts what was stored, nothing refused.
    expect((await hub(ws.id).liveStats()).eventsToday).toBe(9);
  });

  it('counts duplicates: a resent batch takes tokens like a new one', async () => {
    const ws = await createWorkspace('rl-dup');
    await limit(ws, 1);
    const path = `/api/v1/workspaces/${ws.slug}/events`;
    const first = await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(6, 'dup') } });
    expect(first.json).toEqual({ accepted: 6, duplicates: 0 });
    // The same 6 again: 4 tokens left, so refused although it would store nothing new.
    expectLimited(await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(6, 'dup') } }), 3);
    const again = await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(4, 'dup') } });
    expect(again.json).toEqual({ accepted: 0, duplicates: 4 });
    expectLimited(await call('POST', path, { token: ws.keys.ingest, body: { id: 'dup-new', type: 'x' } }), 1);
    expect(await stored(ws)).toBe(6);
  });

  it('limits /collect (with Retry-After readable by the page) and the Segment routes (with X-RateLimit-Reset)', async () => {
    const ws = await createWorkspace('rl-src');
    await limit(ws, 1);
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(10, 'src') } })).status).toBe(202);

    const origin = 'https://shop.example';
    const beacon = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, { headers: { origin, 'content-type': 'text/plain' }, rawBody: JSON.stringify({ id: 'beacon-1', type: 'pageview' }) });
    expectLimited(beacon, 1);
    expect(beacon.headers.get('access-control-allow-origin')).toBe(origin);
    expect(beacon.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('retry-after');

    const basic = { authorization: `Basic ${btoa(`${ws.keys.ingest}:`)}` };
    const before = Date.now();
    const seg = await call('POST', '/v1/batch', { headers: basic, body: { batch: [{ type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'seg-1' }] } });
    const after = expectLimited(seg, 1);
    const reset = Number(seg.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + after * 1000);
    expect(reset).toBeLessThanOrEqual(Date.now() + after * 1000);
    const track = await call('POST', '/v1/track', { body: { event: 'Signed Up', userId: 'u2', messageId: 'seg-2', writeKey: ws.keys.ingest } });
    expectLimited(track, 1);

    expect(await stored(ws)).toBe(10);
    // Once the bucket has refilled, the same requests are taken (each once).
    await new Promise((r) => setTimeout(r, 2100));
    expect((await call('POST', '/v1/batch', { headers: basic, body: { batch: [{ type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'seg-1' }] } })).status).toBe(200);
    expect(await stored(ws)).toBe(11);
  });

  it('uses 1,000 events a second by default: 10 s worth in a burst, then 429', async () => {
    const ws = await createWorkspace('rl-default');
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read })).json.workspace.rateLimit).toEqual({ eventsPerSecond: 1000, burstSeconds: 10 });
    const path = `/api/v1/workspaces/${ws.slug}/events`;
    const burst = LIMITS.defaultEventsPerSecond * LIMITS.rateLimitBurstSeconds;
    // 1.5 bursts at once: the first burst's worth fits whatever the order, the rest only as far as it refilled meanwhile.
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: (1.5 * burst) / 500 }, (_, i) => call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(500, `d${i}`) } })));
    const seconds = (Date.now() - started) / 1000;
    const accepted = answers.filter((a) => a.status === 202).length * 500;
    expect(answers.every((a) => a.status === 202 || a.status === 429)).toBe(true);
    expect(accepted).toBeGreaterThanOrEqual(burst);
    expect(accepted).toBeLessThanOrEqual(burst + seconds * LIMITS.defaultEventsPerSecond + 500);
    if (seconds < 4) expect(answers.some((a) => a.status === 429)).toBe(true);
    // A raised limit refills the time since the last request at its new rate: 500 tokens in 5 ms at 100,000 a second.
    expect((await limit(ws, 100_000)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect((await call('POST', path, { token: ws.keys.ingest, body: { events: makeEvents(500, 'over') } })).status).toBe(202);
    expect((await limit(ws, null)).json.workspace.rateLimit).toEqual({ eventsPerSecond: 1000, burstSeconds: 10 });
  });
});

describe('PATCH rateLimit', () => {
  it('takes an integer 1..1,000,000 or null; anything else is a 400 naming rateLimit', async () => {
    const ws = await createWorkspace('rl-patch');
    for (const bad of [0, -1, 1.5, LIMITS.eventsPerSecondMax + 1, '100', null, Number.MAX_SAFE_INTEGER]) {
      const res = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { rateLimit: { eventsPerSecond: bad } } });
      expect(res.status, String(bad)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(JSON.stringify(res.json.error.issues)).toContain('rateLimit');
    }
    for (const bad of [{}, { eventsPerSecond: 5, burstSeconds: 3 }, 50, 'fast', []]) {
      const res = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { rateLimit: bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const get = () => call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read });
    expect((await get()).json.workspace.rateLimit.eventsPerSecond).toBe(1000);
    // A read key may not change it.
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read, body: { rateLimit: { eventsPerSecond: 5 } } })).status).toBe(403);
    for (const ok of [1, 50, LIMITS.eventsPerSecondMax]) {
      const res = await limit(ws, ok);
      expect(res.status).toBe(200);
      expect(res.json.workspace.rateLimit).toEqual({ eventsPerSecond: ok, burstSeconds: LIMITS.rateLimitBurstSeconds });
      expect((await get()).json.workspace.rateLimit.eventsPerSecond).toBe(ok);
    }
    expect((await limit(ws, null)).json.workspace.rateLimit.eventsPerSecond).toBe(LIMITS.defaultEventsPerSecond);
    expect(await countRows('SELECT count(*) AS n FROM workspaces WHERE id = ? AND rate_limit_eps IS NULL', ws.id)).toBe(1);
    // Other settings leave it alone.
    await limit(ws, 7);
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { name: 'renamed' } })).json.workspace.rateLimit.eventsPerSecond).toBe(7);
  });

  it('is described in the OpenAPI document (duplicates count, in memory, 429 on the ingest routes)', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const text = JSON.stringify(doc);
    expect(text).toContain('duplicates included');
    expect(text).toContain('a restart refills it');
    for (const [path, method] of [['/api/v1/workspaces/{ws}/events', 'post'], ['/api/v1/collect', 'post'], ['/v1/batch', 'post']]) {
      expect(doc.paths[path][method].responses['429'], path).toBeDefined();
    }
  });
});
