import { createServer, type Server } from 'node:http';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import NodeWebSocket from 'ws';
import { createWorkspace, freePort, startDevServer, type DevServer } from './server';
import { launchChromium } from './chromium';

// Chromium against a real `wrangler dev`: the dashboard's SameSite=Strict cookie is sent by every
// page of the same site — here a page on another port of 127.0.0.1 — so the server must refuse it there.
const SLUG = 'websec-e2e';

let server: DevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let keys: { ingest: string; read: string; admin: string };
let attacker: Server;
let attackerUrl: string;

/** The other origin's page: tries the live WebSocket, SSE and token minting with whatever cookies the browser sends. */
const attackPage = (target: string) => `<!doctype html><meta charset="utf-8"><title>same site, other origin</title><script>
const base = ${JSON.stringify(target)};
const out = { ws: { messages: [] }, sse: { messages: [] } };
const settled = [];
settled.push(new Promise((done) => {
  const ws = new WebSocket(base.replace('http', 'ws') + '/live');
  ws.onopen = () => { out.ws.opened = true; };
  ws.onmessage = (e) => out.ws.messages.push(String(e.data));
  ws.onerror = () => { out.ws.error = true; };
  ws.onclose = (e) => { out.ws.closeCode = e.code; done(); };
  setTimeout(done, 15000);
}));
settled.push(new Promise((done) => {
  const es = new EventSource(base + '/live', { withCredentials: true });
  es.addEventListener('connected', (e) => out.sse.messages.push(e.data));
  es.onerror = () => { out.sse.error = true; out.sse.readyState = es.readyState; es.close(); done(); };
  setTimeout(() => { es.close(); done(); }, 15000);
}));
settled.push(fetch(base + '/live', { credentials: 'include' }).then((r) => { out.snapshot = r.status; }, (e) => { out.snapshot = 'blocked: ' + e.name; }));
settled.push(fetch(base + '/live/token', { method: 'POST', credentials: 'include' }).then((r) => { out.token = r.status; }, (e) => { out.token = 'blocked: ' + e.name; }));
Promise.all(settled).then(() => { window.result = out; });
</script>`;

/** What the browser really sent and got, seen through the DevTools protocol (the page itself may not read it). */
async function watchNetwork(target: Page) {
  const cdp: CDPSession = await target.context().newCDPSession(target);
  await cdp.send('Network.enable');
  const requests = new Map<string, { url: string; kind: 'http' | 'websocket'; cookieSent?: boolean; status?: number }>();
  const update = (id: string, fields: Partial<{ url: string; kind: 'http' | 'websocket'; cookieSent: boolean; status: number }>) =>
    requests.set(id, { url: '', kind: 'http', ...requests.get(id), ...fields });
  cdp.on('Network.requestWillBeSent', (e) => update(e.requestId, { url: e.request.url }));
  // The cookies the network stack really attached (after SameSite and every other rule).
  cdp.on('Network.requestWillBeSentExtraInfo', (e) =>
    update(e.requestId, { cookieSent: e.associatedCookies.some((a) => a.cookie.name === 'ep_session' && a.blockedReasons.length === 0) }));
  cdp.on('Network.responseReceivedExtraInfo', (e) => update(e.requestId, { status: e.statusCode }));
  cdp.on('Network.webSocketCreated', (e) => update(e.requestId, { url: e.url, kind: 'websocket' }));
  // A refused handshake shows only as this error; its status tells 403 (cookie seen, wrong origin) from 401 (no cookie).
  cdp.on('Network.webSocketFrameError', (e) => {
    // (Chromium words a 401 as "HTTP Authentication failed".)
    const code = /Unexpected response code: (\d+)/.exec(e.errorMessage)?.[1] ?? (/HTTP Authentication failed/.test(e.errorMessage) ? '401' : undefined);
    if (code) update(e.requestId, { status: Number(code) });
  });
  return {
    /** Each request to `path` on the dashboard's server, with whether the session cookie went with it and the status. */
    to: (path: string) => [...requests.values()].filter((r) => r.url && new URL(r.url).pathname === path),
  };
}

/** Opens the other origin's page in a context, waits for its attempts, and returns what it saw and what went over the wire. */
async function attack(ctx: BrowserContext) {
  const evil = await ctx.newPage();
  const net = await watchNetwork(evil);
  await evil.goto(attackerUrl);
  await evil.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 40_000 });
  const result = (await evil.evaluate(() => (window as unknown as { result: any }).result)) as any;
  // DevTools events arrive on their own channel: wait until every answer has been seen.
  await expect.poll(() => net.to(`/api/v1/workspaces/${SLUG}/live`).filter((r) => r.status !== undefined).length, { timeout: 10_000 }).toBe(3);
  const live = net.to(`/api/v1/workspaces/${SLUG}/live`);
  const token = net.to(`/api/v1/workspaces/${SLUG}/live/token`);
  await evil.close();
  return { result, live, token };
}

async function signIn(key: string) {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/w/${SLUG}`);
}

beforeAll(async () => {
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  const port = await freePort();
  attackerUrl = `http://127.0.0.1:${port}`;
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackPage(`${server.url}/api/v1/workspaces/${SLUG}`));
  });
  await new Promise<void>((resolve) => attacker.listen(port, '127.0.0.1', resolve));
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  if (attacker) await new Promise((r) => attacker.close(r));
  await server?.stop();
});

describe('browser-facing security (Chromium)', () => {
  it('a page of another origin of the same site cannot open the live WebSocket or SSE, or mint a token, with the dashboard’s cookie; the dashboard can', async () => {
    const ownSockets: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => ownSockets.push(String(f.payload))));
    await signIn(keys.read);
    // The dashboard's own live connection works.
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 15_000 });
    await expect.poll(() => ownSockets.some((m) => JSON.parse(m).type === 'connected'), { timeout: 10_000 }).toBe(true);
    const own = await page.evaluate(async (slug) => {
      const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/api/v1/workspaces/${slug}/live`);
      return new Promise<string>((resolve) => {
        ws.onmessage = (e) => { resolve(JSON.parse(String(e.data)).type); ws.close(); };
        ws.onclose = (e) => resolve(`closed ${e.code}`);
        setTimeout(() => resolve('timeout'), 15_000);
      });
    }, SLUG);
    expect(own).toBe('connected');

    const { result, live, token } = await attack(context);
    // The socket never opened and never got `connected`; SSE failed; fetches got nothing readable.
    expect(result.ws.opened).toBeUndefined();
    expect(result.ws.messages).toEqual([]);
    expect(result.ws.error).toBe(true);
    expect(result.ws.closeCode).toBe(1006);
    expect(result.sse.messages).toEqual([]);
    expect(result.sse.error).toBe(true);
    expect(result.snapshot).toMatch(/^blocked/);
    expect(result.token).toMatch(/^blocked/);
    // And this was no accident of the browser: the cookie went with each request, and the server refused it with 403.
    expect(live.map((r) => r.kind).sort()).toEqual(['http', 'http', 'websocket']); // fetch, EventSource, WebSocket
    for (const r of live.filter((r) => r.kind === 'http')) expect(r).toMatchObject({ cookieSent: true, status: 403 });
    expect(live.find((r) => r.kind === 'websocket')).toMatchObject({ status: 403 });
    expect(token).toEqual([expect.objectContaining({ cookieSent: true, status: 403 })]);

    // Control: the same page in a browser with no session gets 401 everywhere (so the 403 above is the cookie's).
    const fresh = await browser.newContext();
    const control = await attack(fresh);
    await fresh.close();
    expect(control.result.ws.messages).toEqual([]);
    for (const r of [...control.live, ...control.token]) expect(r, r.url).toMatchObject({ status: 401 });
    expect(control.live.filter((r) => r.kind === 'http').every((r) => !r.cookieSent)).toBe(true);
  });

  it('after sign-out in the dashboard, a copy of the cookie gets 401 everywhere', async () => {
    const cookie = (await context.cookies(server.url)).find((c) => c.name === 'ep_session')!;
    expect(cookie).toBeDefined();
    const copied = `ep_session=${cookie.value}`;
    const get = (path: string) => fetch(`${server.url}/api/v1${path}`, { headers: { cookie: copied } });
    expect((await get('/session')).status).toBe(200);
    expect((await get(`/workspaces/${SLUG}/live`)).status).toBe(200);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Key').waitFor();
    expect((await context.cookies(server.url)).find((c) => c.name === 'ep_session')).toBeUndefined();

    for (const path of ['/session', `/workspaces/${SLUG}`, `/workspaces/${SLUG}/live`, `/workspaces/${SLUG}/stats/summary`]) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    // The live WebSocket too, from the dashboard's own origin.
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new NodeWebSocket(`${server.url.replace('http', 'ws')}/api/v1/workspaces/${SLUG}/live`, { headers: { cookie: copied, origin: server.url } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the copied cookie opened a socket after sign-out')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
    // A fresh sign-in works again.
    await signIn(keys.read);
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 15_000 });
  });
});
