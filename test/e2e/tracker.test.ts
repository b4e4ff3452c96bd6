import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents } from './flaky-proxy';
import { createWorkspace, freePort, startDevServer, type DevServer } from './server';
import { launchChromium } from './chromium';


/** The host page: its own script ticks and calls the tracker once ready; any throw would be recorded. */
const page = (tag: string) => `<!doctype html><html><head><title>Shop</title>${tag}</head><body><h1>Shop</h1>
<script>
  window.appTicks = 0; setInterval(function () { window.appTicks++; }, 20);
  document.addEventListener('DOMContentLoaded', function () {
    window.edgepulse.track('app.ready', { ok: true });
    window.appReady = true;
  });
</script></body></html>`;

describe('browser tracker (/t.js) in Chromium', () => {
  let server: DevServer;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  const pages = new Map<string, string>();

  beforeAll(async () => {
    server = await startDevServer();
    const port = await freePort();
    site = createServer((req, res) => {
      const key = (req.url ?? '/').split('/')[1] || 'good';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pages.get(pages.has(key) ? key : 'good'));
    });
    await new Promise<void>((r) => site.listen(port, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    await server?.stop();
  });

  it('serves at most 1 KB gzipped (node:zlib, exactly the bytes served)', async () => {
    const res = await fetch(`${server.url}/t.js`);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const size = gzipSync(Buffer.from(await res.arrayBuffer()), { level: 9 }).byteLength;
    console.log(`t.js gzipped: ${size} bytes`);
    expect(size).toBeLessThanOrEqual(1024);
  });

  it('records page views across SPA navigation, a custom event, identify and presence', async () => {
    const { keys } = await createWorkspace(server, 'tracker-e2e');
    pages.set('good', page(`<script defer src="${server.url}/t.js" data-workspace="tracker-e2e" data-key="${keys.ingest}" data-room="lobby"></script>`));
    const tab = await browser.newPage();
    const errors: Error[] = [];
    tab.on('pageerror', (e) => errors.push(e));
    await tab.goto(`${siteUrl}/`);
    await tab.waitForFunction(() => (window as any).appReady === true);
    await tab.evaluate(() => {
      const w = window as any;
      w.edgepulse.identify('user-7');
      history.pushState({}, '', '/pricing?plan=pro');
      w.edgepulse.track('cta.clicked', { plan: 'pro', price: 49 });
      history.replaceState({ same: true }, '', '/pricing?plan=pro'); // same path: no second page view
    });
    await tab.evaluate(() => new Promise<void>((resolve) => {
      addEventListener('popstate', () => resolve(), { once: true });
      history.back();
    }));
    await tab.goto('about:blank'); // pagehide → presence.leave
    expect(errors).toEqual([]);

    // The tab stays open meanwhile: closing it at once could cancel the leave's beacon.
    const events = await readEvents(server.url, 'tracker-e2e', keys.read, (e) => e.some((x) => x.type === 'presence.leave') && e.filter((x) => x.type === 'pageview').length >= 3);
    await tab.close();
    const views = events.filter((e) => e.type === 'pageview').reverse();
    expect(views.map((e) => e.properties.path)).toEqual(['/', '/pricing?plan=pro', '/']);
    expect(views[0].properties.title).toBe('Shop');
    expect(views[1].context.url).toBe(`${siteUrl}/pricing?plan=pro`);
    const cta = events.find((e) => e.type === 'cta.clicked');
    expect(cta).toMatchObject({ userId: 'user-7', room: 'lobby', properties: { plan: 'pro', price: 49 } });
    expect(cta.context).toMatchObject({ platform: 'Web' });
    expect(events.find((e) => e.type === 'app.ready')?.properties).toEqual({ ok: true });
    const join = events.find((e) => e.type === 'presence.join');
    expect(join).toMatchObject({ room: 'lobby' });
    // Before identify the visitor has one anonymous id; after it, the given one.
    expect(views[0].userId).toBe(join.userId);
    expect(events.find((e) => e.type === 'presence.leave')).toMatchObject({ room: 'lobby', userId: 'user-7' });
    expect(new Set(events.map((e) => e.sessionId)).size).toBe(1);
  });

  it('a page with a wrong key keeps working for its user; Do Not Track is honoured when asked', async () => {
    const { keys } = await createWorkspace(server, 'tracker-dnt');
    pages.set('bad', page(`<script defer src="${server.url}/t.js" data-workspace="tracker-e2e" data-key="pk_wrongwrongwrongwrong"></script>`));
    pages.set('dnt', page(`<script defer src="${server.url}/t.js" data-workspace="tracker-dnt" data-key="${keys.ingest}" data-room="r" data-respect-dnt></script>`));
    pages.set('control', page(`<script defer src="${server.url}/t.js" data-workspace="tracker-dnt" data-key="${keys.ingest}" data-room="control"></script>`));

    const tab = await browser.newPage();
    const errors: Error[] = [];
    tab.on('pageerror', (e) => errors.push(e));
    await tab.goto(`${siteUrl}/bad`);
    await tab.waitForFunction(() => (window as any).appReady === true);
    const ticks = await tab.evaluate(() => (window as any).appTicks);
    await tab.evaluate(() => {
      (window as any).edgepulse.track('x');
      history.pushState({}, '', '/bad/next');
    });
    await tab.waitForFunction((t) => (window as any).appTicks > t + 5, ticks);
    expect(errors).toEqual([]);

    const ctx = await browser.newContext();
    await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }));
    const dnt = await ctx.newPage();
    dnt.on('pageerror', (e) => errors.push(e));
    await dnt.goto(`${siteUrl}/dnt`);
    await dnt.waitForFunction(() => (window as any).appReady === true);
    await dnt.evaluate(() => (window as any).edgepulse.track('should.not.send'));
    // A page in the same DNT browser that does not ask for it: once its events are in, the other's would be too.
    await dnt.goto(`${siteUrl}/control`);
    await dnt.waitForFunction(() => (window as any).appReady === true);
    await ctx.close();
    await tab.close();
    expect(errors).toEqual([]);
    const events = await readEvents(server.url, 'tracker-dnt', keys.read, (e) => e.filter((x) => x.room === 'control').length >= 3);
    expect(events.filter((e) => e.room === 'control').map((e) => e.type)).toEqual(expect.arrayContaining(['app.ready', 'pageview', 'presence.join']));
    expect(events.filter((e) => e.room !== 'control')).toEqual([]);
  });

  it('over the rate limit: holds its sends until Retry-After has passed, then delivers each event once', async () => {
    const slug = 'tracker-limited';
    const { keys } = await createWorkspace(server, slug);
    const patched = await fetch(`${server.url}/api/v1/workspaces/${slug}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: { eventsPerSecond: 5 } }), // bursts of 50
    });
    expect(patched.status).toBe(200);
    pages.set('limited', page(`<script defer src="${server.url}/t.js" data-workspace="${slug}" data-key="${keys.ingest}"></script>`));
    const tab = await browser.newPage();
    const errors: Error[] = [];
    tab.on('pageerror', (e) => errors.push(e));
    const sent: number[] = [];
    const refused: Array<{ at: number; retryAfter: number }> = [];
    tab.on('request', (r) => void (r.url().includes('/api/v1/collect') && sent.push(Date.now())));
    tab.on('response', async (r) => {
      if (r.url().includes('/api/v1/collect') && r.status() === 429) refused.push({ at: Date.now(), retryAfter: Number(await r.headerValue('retry-after')) });
    });
    await tab.goto(`${siteUrl}/limited`);
    await tab.waitForFunction(() => (window as any).appReady === true);
    const n = 60; // with the page view and app.ready: 12 over the burst
    await tab.evaluate((count) => {
      for (let i = 0; i < count; i++) (window as any).edgepulse.track('burst', { i });
    }, n);
    const events = await readEvents(server.url, slug, keys.read, (e) => e.filter((x) => x.type === 'burst').length >= n, 30_000);
    await new Promise((r) => setTimeout(r, 1000)); // a doubled copy would show up by now
    const settled = await readEvents(server.url, slug, keys.read, () => true);
    await tab.close();
    console.log(`tracker under a limit of 5/s: ${sent.length} requests for ${n + 2} events, ${refused.length} answered 429`);
    expect(errors).toEqual([]);
    expect(events.filter((e) => e.type === 'burst').map((e) => e.properties.i).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(settled).toHaveLength(n + 2);
    expect(new Set(settled.map((e) => e.id)).size).toBe(n + 2);
    // It was refused, waited as told (nothing sent between the first 429 and the end of its Retry-After), and did not hammer.
    expect(refused.length).toBeGreaterThan(0);
    const first = refused[0];
    expect(first.retryAfter).toBeGreaterThanOrEqual(1);
    const early = sent.filter((t) => t > first.at + 50 && t < first.at + first.retryAfter * 1000 - 100);
    expect(early).toEqual([]);
    expect(sent.length).toBeLessThanOrEqual(n + 2 + refused.length);
  });
});
