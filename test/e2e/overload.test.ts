import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgePulse } from '../../src/client/index';
import { LIMITS } from '../../src/shared/limits';
import { createWorkspace, startDevServer, type DevServer } from './server';
import { launchChromium } from './chromium';

const LIMIT = 50; // events a second
const LOAD_SECONDS = 30;
const SENDERS = 5;
const BATCH = 10;
/** Each sender posts a batch of BATCH every this many ms: SENDERS × BATCH × 1000 / TICK_MS = 10 × LIMIT. */
const TICK_MS = (SENDERS * BATCH * 1000) / (10 * LIMIT);

/**
 * wrangler dev's proxy answers this 503 (and a client sometimes sees its connection reset) when a pooled connection
 * between its processes is lost mid-request, a keep-alive race of the local runtime under load
 * (cloudflare/workers-sdk#14641, #5095), not an answer of the Worker: counted apart, and bounded.
 */
const DEV_PROXY_LOST = /^Your worker restarted mid-request/;
const LOST = 'connection lost in wrangler dev';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every stored event of a type, paging GET …/events. */
async function storedIds(server: DevServer, slug: string, key: string, type?: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: '1000', ...(type ? { type } : {}), ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${server.url}/api/v1/workspaces/${slug}/events?${q}`, { headers: { authorization: `Bearer ${key}` } });
    const page = (await res.json()) as { events: Array<{ id: string }>; nextCursor: string | null };
    ids.push(...page.events.map((e) => e.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('rate limits through wrangler dev', () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('overload: clients send 10× a workspace’s limit for 30 s; only 202 or 429, no more stored than the limit lets through, edgepulse/client delivers every event once', async () => {
    const slug = 'overload';
    const { keys } = await createWorkspace(server, slug);
    const patched = await fetch(`${server.url}/api/v1/workspaces/${slug}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: { eventsPerSecond: LIMIT } }),
    });
    expect(patched.status).toBe(200);

    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const oddAnswers: string[] = [];
    const oddNetwork: string[] = [];
    let offered = 0;
    let acceptedByLoad = 0;
    const started = Date.now();
    const until = started + LOAD_SECONDS * 1000;

    // Plain senders that never slow down (a batch goes out on its tick whether or not the last one was answered).
    const post = async (s: number, tick: number) => {
      const events = Array.from({ length: BATCH }, (_, i) => ({ id: `load-${s}-${tick}-${i}`, type: 'load.event', userId: `u${s}` }));
      offered += BATCH;
      try {
        const res = await fetch(`${server.url}/api/v1/workspaces/${slug}/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        });
        const text = await res.text();
        const body = (() => {
          try {
            return JSON.parse(text) as { accepted?: number; error?: { code: string } };
          } catch {
            return null;
          }
        })();
        if (res.status === 202) acceptedByLoad += body?.accepted ?? 0;
        if (res.status === 429) {
          const after = res.headers.get('retry-after');
          count(body?.error?.code === 'rate_limited' && after && /^\d+$/.test(after) && Number(after) >= 1 ? '429' : '429 without rate_limited or Retry-After');
        } else if (res.status === 503 && DEV_PROXY_LOST.test(text)) {
          count(LOST);
        } else {
          count(String(res.status));
          if (res.status !== 202) oddAnswers.push(`${res.status} ${text.slice(0, 300)} ${JSON.stringify([...res.headers])}`);
        }
      } catch (err) {
        count(LOST);
        oddNetwork.push(`${(err as Error).message} ${String((err as { cause?: unknown }).cause)}`);
      }
    };
    const sender = async (s: number) => {
      const inFlight: Promise<void>[] = [];
      for (let tick = 0; started + tick * TICK_MS < until; tick++) {
        await sleep(Math.max(0, started + tick * TICK_MS - Date.now()));
        inFlight.push(post(s, tick));
      }
      await Promise.all(inFlight);
    };

    // The SDK, sending through the same limit: it waits out each 429 as Retry-After says.
    const failures: Error[] = [];
    const sdkAnswers = new Map<number, number>();
    const sdkFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      sdkAnswers.set(res.status, (sdkAnswers.get(res.status) ?? 0) + 1);
      return res;
    };
    // Batches of 10 compete with the senders' for the same tokens: most are refused while the load lasts.
    const sdk = new EdgePulse({ host: server.url, workspace: slug, key: keys.ingest, flushAt: 10, flushIntervalMs: 500, onError: (e) => failures.push(e), fetch: sdkFetch });
    const sdkIds: string[] = [];
    const sdkTraffic = (async () => {
      for (let i = 0; Date.now() < until; i++) {
        sdkIds.push(sdk.track({ type: 'sdk.event', userId: `sdk-${i % 5}`, properties: { n: i } }));
        await sleep(200); // 5 events a second
      }
    })();

    await Promise.all([...Array.from({ length: SENDERS }, (_, s) => sender(s)), sdkTraffic]);
    const loadSeconds = (Date.now() - started) / 1000;
    const responses = [...statuses.values()].reduce((a, b) => a + b, 0);
    const sdkRetries = sdk.stats.retries;
    const pendingAtEnd = sdk.pending;
    const closing = Date.now();
    await sdk.close();
    const closeSeconds = (Date.now() - closing) / 1000;
    console.log(
      `overload: ${offered} events offered in ${responses} requests over ${loadSeconds.toFixed(1)} s (${(offered / loadSeconds / LIMIT).toFixed(1)}× the limit of ${LIMIT}/s); ` +
        `answers ${JSON.stringify(Object.fromEntries(statuses))}; accepted ${acceptedByLoad} load events; ` +
        `SDK: ${sdkIds.length} events, answers ${JSON.stringify(Object.fromEntries(sdkAnswers))}, ${sdkRetries} retries during the load, ${pendingAtEnd} queued at its end, all delivered ${closeSeconds.toFixed(1)} s later`,
    );

    // Every answer of the Worker was a 202 or a 429 rate_limited with Retry-After: no 5xx, nothing else.
    expect(oddAnswers.slice(0, 5), server.log().slice(-3000)).toEqual([]);
    expect([...statuses.keys()].filter((k) => k !== LOST).sort()).toEqual(['202', '429']);
    // The dev proxy's lost connections stay rare (none at all on a quiet machine).
    expect(statuses.get(LOST) ?? 0, oddNetwork.slice(0, 3).join('\n')).toBeLessThanOrEqual(responses * 0.02);
    expect(offered / loadSeconds).toBeGreaterThanOrEqual(8 * LIMIT); // it really was about 10× the limit
    // The limit held: what was taken is at most the burst plus the rate over the time (the SDK's share included).
    const allowed = LIMIT * LIMITS.rateLimitBurstSeconds + LIMIT * (loadSeconds + 1);
    expect(acceptedByLoad).toBeLessThanOrEqual(allowed);
    expect(acceptedByLoad).toBeGreaterThan(LIMIT * LIMITS.rateLimitBurstSeconds);

    // The SDK gave up on nothing, and each of its events is stored once.
    expect(failures).toEqual([]);
    expect(sdk.stats).toMatchObject({ delivered: sdkIds.length, failed: 0 });
    expect(sdkAnswers.get(429)).toBeGreaterThan(0); // it was limited along the way
    let stored: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      stored = await storedIds(server, slug, keys.read, 'sdk.event');
      if (stored.length >= sdkIds.length) break;
      await sleep(300);
    }
    expect(stored.length).toBe(sdkIds.length);
    expect(new Set(stored)).toEqual(new Set(sdkIds));
    // And history holds exactly what was acknowledged: the load's 202s and the SDK's events, none of the 429s.
    let all: string[] = [];
    while (Date.now() < deadline + 10_000) {
      all = await storedIds(server, slug, keys.read);
      if (all.length >= acceptedByLoad + sdkIds.length) break;
      await sleep(300);
    }
    // A request whose connection the dev proxy lost may have been stored before it was: at most its batch more.
    expect(all.length).toBeGreaterThanOrEqual(acceptedByLoad + sdkIds.length);
    expect(all.length).toBeLessThanOrEqual(acceptedByLoad + sdkIds.length + BATCH * (statuses.get(LOST) ?? 0));
    expect(new Set(all).size).toBe(all.length);
  });

  describe('the dashboard’s settings', () => {
    it('shows the default, saves a new limit, and an empty field goes back to the default', async () => {
      const slug = 'settings-rl';
      const { keys } = await createWorkspace(server, slug);
      const current = async () =>
        ((await (await fetch(`${server.url}/api/v1/workspaces/${slug}`, { headers: { authorization: `Bearer ${keys.read}` } })).json()) as { workspace: { rateLimit: { eventsPerSecond: number } } }).workspace.rateLimit.eventsPerSecond;
      const browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${server.url}/`);
      await page.getByLabel('Key').fill(keys.admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/w/${slug}`);
      await page.getByRole('navigation', { name: 'Workspace' }).getByRole('link', { name: 'Settings' }).click();
      const field = page.getByLabel(/Rate limit/);
      await expect.poll(() => field.inputValue()).toBe('1000');
      await field.fill('250');
      await page.getByRole('button', { name: 'Save' }).first().click();
      await expect.poll(current).toBe(250);
      await field.fill('');
      await page.getByRole('button', { name: 'Save' }).first().click();
      await expect.poll(current).toBe(1000);
      // Empty shows the default as its placeholder; a fresh page shows the value in force.
      expect(await field.getAttribute('placeholder')).toBe('1000');
      await page.reload();
      await expect.poll(() => page.getByLabel(/Rate limit/).inputValue()).toBe('1000');
      expect(errors).toEqual([]);
      await browser.close();
    });
  });
});
