import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { createWorkspace, freePort, startDevServer, type DevServer } from './server';

// A customer's app on its own origin: its server mints 5-minute live tokens with a read key, its page
// imports the built edgepulse/live and shows the live numbers. Served as http://127.0.0.1:PORT (listed in
// allowedOrigins) and as http://localhost:PORT (the same page on an origin that is not).
const LIVE_JS = new URL('../../dist/client/live.js', import.meta.url);
const SLUG = 'live-client-e2e';

const pageHtml = `<!doctype html><meta charset="utf-8"><title>my app</title>
<p>viewers <b id="viewers">…</b> · events today <b id="events">…</b> · <span id="status">starting</span> · probe <span id="probe">…</span></p>
<script type="module" src="/app.js"></script>`;

/** The page: what a developer writes with edgepulse/live (plus a log the test reads). */
const appJs = (host: string) => `import { subscribe } from '/live.js';
const q = new URLSearchParams(location.search);
// ?key: the page is handed a read key (discouraged, but allowed) and the client trades it for live tokens itself.
const getToken = () => fetch(q.has('key') ? '/edgepulse-key' : '/edgepulse-token', { method: 'POST' }).then((r) => r.json()).then((t) => t.token);
window.log = { messages: [], statuses: [] };
subscribe({
  host: ${JSON.stringify(host)}, workspace: ${JSON.stringify(SLUG)}, getToken,
  pollIntervalMs: Number(q.get('poll') ?? 2000),
  onMessage(m) {
    log.messages.push({ type: m.type, at: Date.now(), eventsToday: m.data.eventsToday });
    if (m.type !== 'stats') return;
    document.getElementById('viewers').textContent = String(m.data.onlineUsers);
    document.getElementById('events').textContent = String(m.data.eventsToday);
  },
  onStatus(s) {
    log.statuses.push(s);
    document.getElementById('status').textContent = s.state + ' ' + s.transport + (s.error ? ' (' + s.error + ')' : '');
  },
});
// What any cross-origin read of this page meets: answered, or refused by the browser (a CORS failure).
getToken().then((t) => fetch(${JSON.stringify(`${host}/api/v1/workspaces/${SLUG}/live?token=`)} + t))
  .then((r) => { document.getElementById('probe').textContent = 'answered ' + r.status; }, (e) => { document.getElementById('probe').textContent = 'refused: ' + e.name; });
`;

/** The customer's server: the page, the built client, and a route minting a live token with its read key. */
function startAppServer(port: number, edgepulse: string, readKey: () => string, minted: string[]): Promise<Server> {
  const server = createServer(async (req, res) => {
    const send = (type: string, body: string | Buffer, status = 200) => res.writeHead(status, { 'content-type': type }).end(body);
    if (req.url?.startsWith('/app.js')) return send('text/javascript', appJs(edgepulse));
    if (req.url === '/live.js') return send('text/javascript', readFileSync(LIVE_JS));
    if (req.url === '/edgepulse-key' && req.method === 'POST') return send('application/json', JSON.stringify({ token: readKey() }));
    if (req.url === '/edgepulse-token' && req.method === 'POST') {
      const key = readKey();
      minted.push(key);
      const token = await fetch(`${edgepulse}/api/v1/workspaces/${SLUG}/live/token`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      return send('application/json', await token.text(), token.status);
    }
    if (req.url === '/' || req.url?.startsWith('/?')) return send('text/html', pageHtml);
    send('text/plain', 'not found', 404);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('edgepulse/live in Chromium on another origin', () => {
  let server: DevServer;
  let app: Server;
  let browser: Browser;
  let keys: { ingest: string; read: string; admin: string };
  let appPort: number;
  let sent = 0;
  let serverKey = '';
  const minted: string[] = []; // the read key behind each token the app's server minted

  beforeAll(async () => {
    server = await startDevServer();
    browser = await launchChromium();
    appPort = await freePort();
    ({ keys } = await createWorkspace(server, SLUG));
    const patched = await fetch(`${server.url}/api/v1/workspaces/${SLUG}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ allowedOrigins: [`http://127.0.0.1:${appPort}`] }),
    });
    expect(patched.status).toBe(200);
    serverKey = keys.read;
    app = await startAppServer(appPort, server.url, () => serverKey, minted);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (app ? app.close(r) : r(undefined)));
    await server?.stop();
  });

  /** Sends one event of a new viewer from Node; resolves with when it was sent. */
  async function sendEvent(): Promise<number> {
    const at = Date.now();
    const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: `lc-${sent}`, type: 'stream.view', userId: `viewer-${sent++}` }),
    });
    expect(res.status).toBe(202);
    return at;
  }

  /** How long after `at` the page first showed at least `events` events today. */
  async function shownAfter(page: Page, at: number, events: number, timeoutMs = 10_000): Promise<number> {
    const handle = await page.waitForFunction(
      (n) => (window as any).log.messages.find((m: { type: string; eventsToday: number }) => m.type === 'stats' && m.eventsToday >= n)?.at,
      events,
      { timeout: timeoutMs, polling: 20 },
    );
    return ((await handle.jsonValue()) as number) - at;
  }

  /** A page whose stream is open on `transport`, showing what the workspace has now. */
  async function openPage(origin: string, transport: string, block: { ws?: boolean; sse?: boolean } = {}, query = ''): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    // Blocked on the way, as a proxy or firewall would: the WebSocket handshake is answered by
    // Playwright and closed at once (never reaching the Worker); requests for an event stream are aborted.
    if (block.ws) await page.routeWebSocket(/\/live\?token=/, (ws) => ws.close({ code: 1011, reason: 'blocked by a proxy' }));
    if (block.sse) {
      await page.route(/\/live\?token=/, (route) =>
        route.request().headers().accept?.includes('text/event-stream') ? route.abort('blockedbyclient') : route.continue());
    }
    await page.goto(`${origin}/${query}`);
    await page.waitForFunction((t) => document.getElementById('status')?.textContent === `open ${t}`, transport, { timeout: 20_000 })
      .catch(async (e) => {
        throw new Error(`${e}\nstatuses: ${JSON.stringify(await page.evaluate(() => (window as any).log?.statuses))}`);
      });
    await page.waitForFunction((n) => document.getElementById('events')?.textContent === String(n), sent, { timeout: 10_000 });
    return page;
  }

  it('a listed origin shows the viewer count over a WebSocket and updates within 1 s of an event', async () => {
    const page = await openPage(`http://127.0.0.1:${appPort}`, 'ws');
    expect(await page.textContent('#probe')).toBe('answered 200');
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Number(await page.textContent('#viewers'));
      delays.push(await shownAfter(page, await sendEvent(), sent));
      await page.waitForFunction((n) => Number(document.getElementById('viewers')?.textContent) === n, before + 1, { timeout: 5_000 });
    }
    console.log(`event sent from Node → shown by the page over WebSocket: ${delays.map((d) => `${d} ms`).join(', ')}`);
    for (const d of delays) expect(d).toBeLessThanOrEqual(1000);
    await page.context().close();
  });

  it('an origin not listed is refused by the browser: no stream opens, no numbers, the read fails as CORS', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://localhost:${appPort}/`);
    await page.waitForFunction(() => document.getElementById('probe')?.textContent !== '…', undefined, { timeout: 10_000 });
    expect(await page.textContent('#probe')).toBe('refused: TypeError');
    // Every transport tried and failed: the WebSocket refused by the Worker, SSE and polling by the browser.
    await page.waitForFunction(() => {
      const tried = new Set((window as any).log.statuses.filter((s: any) => s.state === 'retrying').map((s: any) => s.transport));
      return tried.has('ws') && tried.has('sse') && tried.has('poll');
    }, undefined, { timeout: 20_000 });
    const log = await page.evaluate(() => (window as any).log);
    expect(log.messages).toEqual([]);
    expect(log.statuses.some((s: { state: string }) => s.state === 'open')).toBe(false);
    expect(await page.textContent('#viewers')).toBe('…');
    await page.context().close();
  });

  it('falls back to SSE when WebSockets are blocked, and to polling when SSE is blocked too', async () => {
    const sse = await openPage(`http://127.0.0.1:${appPort}`, 'sse', { ws: true });
    const sseDelay = await shownAfter(sse, await sendEvent(), sent);
    const sseTried = await sse.evaluate(() => (window as any).log.statuses.map((s: any) => `${s.state} ${s.transport}`));
    expect(sseTried).toContain('retrying ws');
    await sse.context().close();

    const poll = await openPage(`http://127.0.0.1:${appPort}`, 'poll', { ws: true, sse: true }, '?poll=500');
    const pollDelay = await shownAfter(poll, await sendEvent(), sent);
    const pollTried = await poll.evaluate(() => (window as any).log.statuses.map((s: any) => `${s.state} ${s.transport}`));
    expect(pollTried).toEqual(expect.arrayContaining(['retrying ws', 'retrying sse']));
    console.log(`fallbacks: SSE shown ${sseDelay} ms after the event, polling (every 500 ms) ${pollDelay} ms`);
    expect(sseDelay).toBeLessThanOrEqual(1000);
    expect(pollDelay).toBeLessThanOrEqual(2000);
    await poll.context().close();
  });

  it('asks getToken again when the key behind its token is revoked (WebSocket close 4401) and stays on the WebSocket', async () => {
    const admin = { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' };
    const page = await openPage(`http://127.0.0.1:${appPort}`, 'ws');
    const before = minted.length;
    expect(minted.at(-1)).toBe(serverKey);
    // The app's server moves to a new read key; the old one is revoked, which ends its tokens' connections.
    const created = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ kind: 'read', name: 'rotated' }) });
    expect(created.status).toBe(201);
    const listed = (await (await fetch(`${server.url}/api/v1/workspaces/${SLUG}/keys`, { headers: admin })).json()) as { keys: Array<{ id: string; kind: string; prefix: string }> };
    const old = listed.keys.find((k) => k.kind === 'read' && serverKey.startsWith(k.prefix))!;
    serverKey = ((await created.json()) as { secret: string }).secret;
    expect((await fetch(`${server.url}/api/v1/workspaces/${SLUG}/keys/${old.id}`, { method: 'DELETE', headers: admin })).status).toBe(204);

    await page.waitForFunction(() => (window as any).log.statuses.some((s: any) => s.state === 'retrying' && s.error === 'closed 4401'), undefined, { timeout: 15_000 });
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'open ws', undefined, { timeout: 15_000 });
    expect(minted.slice(before)).toContain(serverKey); // a new token, minted with the new key
    expect(await shownAfter(page, await sendEvent(), sent)).toBeLessThanOrEqual(1000);
    await page.context().close();
  });

  it('given a read key instead, the page mints its own live tokens across origins (POST …/live/token answers CORS)', async () => {
    const page = await openPage(`http://127.0.0.1:${appPort}`, 'ws', {}, '?key');
    const fetched = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    expect(fetched).toContain(`http://127.0.0.1:${server.port}/api/v1/workspaces/${SLUG}/live/token`);
    expect(await shownAfter(page, await sendEvent(), sent)).toBeLessThanOrEqual(1000);
    await page.context().close();
  });
});
