import { mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// Share links in Debian's Chromium against a real `wrangler dev`: an admin makes one in Settings, a
// browser without a session opens it (live and reports, aggregates only), the API refuses it the
// per-user routes, and revoking ends the open page at once.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'share-e2e';
/** Distinctive ids: none of them may appear anywhere on a shared page. */
const USERS = ['u_alice_7f3q', 'u_bob_91cz', 'u_carol_2d8w'];
const SHARE_NAME = 'Team TV';

let server: DevServer;
let browser: Browser;
let admin: Page;
let shareContext: BrowserContext;
let shared: Page;
let keys: { ingest: string; read: string; admin: string };
let shareUrl: string;
let token: string;
let seeded: number;
/** Every API request and WebSocket of the shared page, to check the credential each carried. */
const requests: Request[] = [];
const sockets: string[] = [];

async function api<T = any>(method: string, path: string, bearer: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

const postEvents = (events: unknown[]) => api('POST', `/workspaces/${SLUG}/events`, keys.ingest, { events });
const cardValue = (page: Page, id: string) => page.getByTestId(id).locator('.value').textContent();
const pageText = (page: Page) => page.evaluate(() => document.body.innerText);
const expectNoUserIds = async (page: Page) => {
  const text = await pageText(page);
  for (const u of USERS) expect(text).not.toContain(u);
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  const events = Array.from({ length: 30 }, (_, i) => ({
    id: `seed-${i}`,
    type: ['page.view', 'message.sent', 'api.request'][i % 3],
    userId: USERS[i % USERS.length],
    room: i % 5 === 0 ? 'lobby' : undefined,
    durationMs: 40 + i * 5,
    error: i % 10 === 0 ? 'timeout' : undefined,
    context: { platform: i % 2 ? 'iOS' : 'Web', country: 'DE' },
  }));
  events.push({ id: 'seed-join', type: 'presence.join', userId: USERS[0], room: 'lobby', durationMs: 1, error: undefined, context: { platform: 'Web', country: 'DE' } });
  expect((await postEvents(events)).status).toBe(202);
  seeded = events.length;
  // Reports read the history: wait until every seeded event is there.
  for (let i = 0; i < 100 && (await api('GET', `/workspaces/${SLUG}/stats/summary?range=24h`, keys.read)).json?.events !== seeded; i++) {
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await launchChromium();
  admin = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  shareContext = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  shared = await shareContext.newPage();
  shared.on('request', (r) => r.url().includes('/api/') && requests.push(r));
  shared.on('websocket', (w) => sockets.push(w.url()));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('share links', () => {
  it('an admin creates one in Settings; its URL is shown once, never listed again', async () => {
    await admin.goto(`${server.url}/`);
    await admin.getByLabel('Key').fill(keys.admin);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.waitForURL(`${server.url}/w/${SLUG}`);
    await admin.getByRole('link', { name: 'Settings' }).click();
    await admin.locator('#share-name').fill(SHARE_NAME);
    await admin.getByRole('button', { name: 'Create share link' }).click();
    await admin.getByTestId('new-share').waitFor();
    shareUrl = (await admin.getByTestId('new-share').locator('code').textContent())!.trim();
    expect(shareUrl).toMatch(new RegExp(`^${server.url}/s/sh_[A-Za-z0-9]{16,64}$`));
    token = shareUrl.split('/s/')[1];
    const row = admin.getByTestId('shares-table').locator('tbody tr');
    // The list reloads after the create: wait for it rather than read it at once.
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.first().textContent()).toContain(SHARE_NAME);
    const list = await api('GET', `/workspaces/${SLUG}/shares`, keys.admin);
    expect(list.status).toBe(200);
    expect(list.json.shares).toHaveLength(1);
    expect(JSON.stringify(list.json)).not.toContain(token);
    await admin.getByTestId('shares').screenshot({ path: `${SHOTS}share-01-settings.png` });
  });

  it('opens without sign-in: live numbers that update, no events, users, Events or Settings', async () => {
    await shared.goto(shareUrl);
    await shared.getByTestId('shared-badge').filter({ hasText: `Shared view · read-only · ${SHARE_NAME}` }).waitFor();
    await shared.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 15_000 });
    await shared.getByTestId('card-events-today').locator('.value', { hasText: String(seeded) }).waitFor({ timeout: 5_000 });
    expect(await shared.getByLabel('Key').count()).toBe(0);
    expect(await shared.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await shared.locator('nav.nav a').allTextContents()).toEqual(['Live', 'Reports']);
    for (const testid of ['recent-events', 'recent-errors', 'feed', 'errors']) expect(await shared.getByTestId(testid).count()).toBe(0);

    const t0 = Date.now();
    expect((await postEvents([{ id: 'after-open', type: 'page.view', userId: USERS[1] }])).status).toBe(202);
    await shared.getByTestId('card-events-today').locator('.value', { hasText: String(seeded + 1) }).waitFor({ timeout: 5_000 });
    console.log(`shared live view updated ${Date.now() - t0} ms after the event was posted`);
    await expectNoUserIds(shared);
    // No cookie ever: the token from the URL is the bearer of every request (the socket carries a live token).
    expect(await shareContext.cookies()).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect((await r.allHeaders()).authorization, `${r.method()} ${r.url()}`).toBe(`Bearer ${token}`);
    expect(requests.some((r) => r.method() === 'POST' && r.url().endsWith(`/workspaces/${SLUG}/live/token`))).toBe(true);
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) expect(new URL(url).searchParams.get('token'), url).toMatch(/\S/);
    await shared.screenshot({ path: `${SHOTS}share-02-live.png`, fullPage: true });
  });

  it('reports and a room show figures inside the share, with no user ids and no refusals', async () => {
    await shared.getByRole('link', { name: 'Reports' }).click();
    await shared.waitForURL(new RegExp(`/s/${token}/reports`));
    await shared.getByTestId('sum-events').locator('.value', { hasText: String(seeded + 1) }).waitFor({ timeout: 15_000 });
    await shared.locator('[data-testid="breakdown-table"] tbody tr').first().waitFor();
    expect(await shared.locator('[data-testid="breakdown-table"] tbody tr').count()).toBe(4);
    expect(await shared.locator('.error-text').count()).toBe(0);
    await expectNoUserIds(shared);
    await shared.screenshot({ path: `${SHOTS}share-03-reports.png`, fullPage: true });

    await shared.getByRole('link', { name: 'Live' }).click();
    await shared.getByTestId('rooms').getByRole('link', { name: 'lobby' }).click();
    await shared.waitForURL(new RegExp(`/s/${token}/rooms/lobby$`));
    await shared.getByTestId('room-current').locator('.value', { hasText: '1' }).waitFor({ timeout: 10_000 });
    expect(await shared.getByTestId('participants').count()).toBe(0);
    expect(await shared.locator('.error-text').count()).toBe(0);
    await expectNoUserIds(shared);
    // Pages a share may not show stay inside the share and say why.
    await shared.goto(`${shareUrl}/events`);
    await shared.getByTestId('not-shared').waitFor();
    expect(await shared.getByLabel('Key').count()).toBe(0);
  });

  it('the API answers 403 to the share token on the event log, export, users, keys and settings', async () => {
    const ws = `/workspaces/${SLUG}`;
    for (const path of [`${ws}/events`, `${ws}/export?format=csv`, `${ws}/users`, `${ws}/users/${USERS[0]}`, `${ws}/sessions`, `${ws}/keys`, ws, `${ws}/shares`, `${ws}/stats/breakdown?by=userId`]) {
      const res = await api('GET', path, token);
      expect(res.status, path).toBe(403);
      expect(res.json.error.code, path).toBe('forbidden');
      expect(JSON.stringify(res.json), path).not.toContain(USERS[0]);
    }
    expect((await api('POST', `${ws}/keys`, token, { kind: 'read' })).status).toBe(403);
    const info = await api('GET', '/share', token);
    expect(info.status).toBe(200);
    expect(info.json.workspace.slug).toBe(SLUG);
    expect(info.json.share.name).toBe(SHARE_NAME);
    expect((await api('GET', `${ws}/stats/summary?range=24h`, token)).json.events).toBe(seeded + 1);
    // The live snapshot of a share carries aggregates only.
    const snap = await api('GET', `${ws}/live`, token);
    expect(snap.status).toBe(200);
    expect(snap.json.data.eventsToday).toBe(seeded + 1);
    expect(snap.json.data.recentEvents).toEqual([]);
    expect(snap.json.data.recentErrors).toEqual([]);
    expect(snap.json.data.topUsers).toEqual([]);
  });

  it('with WebSockets blocked it polls the snapshot, with the bearer and aggregates only', async () => {
    const blocked = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await blocked.routeWebSocket(/\/live(\?|$)/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
    const p = await blocked.newPage();
    const snapshots: Request[] = [];
    p.on('request', (r) => r.method() === 'GET' && new URL(r.url()).pathname === `/api/v1/workspaces/${SLUG}/live` && snapshots.push(r));
    await p.goto(shareUrl);
    await p.getByTestId('connection').filter({ hasText: 'live (polling)' }).waitFor({ timeout: 15_000 });
    const before = Number((await cardValue(p, 'card-events-today'))!.replace(/,/g, ''));
    expect((await postEvents([{ id: 'while-polling', type: 'page.view', userId: USERS[2] }])).status).toBe(202);
    await p.getByTestId('card-events-today').locator('.value', { hasText: String(before + 1) }).waitFor({ timeout: 8_000 });
    for (const r of snapshots) expect((await r.allHeaders()).authorization).toBe(`Bearer ${token}`);
    expect(snapshots.length).toBeGreaterThan(0);
    await expectNoUserIds(p);
    await blocked.close();
  });

  it('revoking in Settings ends the open page at once; a reload shows the ended message', async () => {
    await shared.goto(shareUrl);
    await shared.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 15_000 });
    await admin.getByRole('button', { name: `Revoke ${SHARE_NAME}` }).click();
    const t0 = Date.now();
    await admin.getByRole('button', { name: 'Confirm revoke' }).click();
    await shared.getByTestId('share-ended').waitFor({ timeout: 10_000 });
    console.log(`open shared page ended ${Date.now() - t0} ms after the revoke was confirmed`);
    await admin.getByText('No share links yet').waitFor();
    expect(await pageText(shared)).toContain('This share link has ended or was revoked');
    await shared.reload();
    await shared.getByTestId('share-ended').waitFor();
    expect(await shared.getByLabel('Key').count()).toBe(0);
    await shared.screenshot({ path: `${SHOTS}share-04-ended.png` });
    expect((await api('GET', '/share', token)).status).toBe(401);
    expect((await api('GET', `/workspaces/${SLUG}/stats/summary`, token)).status).toBe(401);
  });

  it('a link that expires ends its open page by itself; opened later it shows the ended page', async () => {
    const created = await api('POST', `/workspaces/${SLUG}/shares`, keys.admin, { name: 'brief', expiresAt: new Date(Date.now() + 4_000).toISOString() });
    expect(created.status).toBe(201);
    const page = await shareContext.newPage();
    await page.goto(created.json.url);
    await page.getByTestId('shared-badge').filter({ hasText: 'brief' }).waitFor();
    await page.getByTestId('card-events-today').waitFor();
    await page.getByTestId('share-ended').waitFor({ timeout: 15_000 });
    expect((await api('GET', '/share', created.json.url.split('/s/')[1])).status).toBe(401);
    await page.reload();
    await page.getByTestId('share-ended').waitFor();
    expect(await page.getByLabel('Key').count()).toBe(0);
    await page.close();
  });
});
