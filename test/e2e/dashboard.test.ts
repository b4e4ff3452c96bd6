import { mkdirSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, startDevServer, type DevServer } from './server';
import { launchChromium } from './chromium';

// The dashboard in Debian's Chromium against a real `wrangler dev`; each test leaves a screenshot.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'dash-e2e';

let server: DevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let keys: { ingest: string; read: string; admin: string };

const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

async function api<T = any>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

const postEvents = (events: unknown[]) => api('POST', `/workspaces/${SLUG}/events`, keys.ingest, { events });

async function signIn(key: string) {
  await page.goto(`${server.url}/`);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  await page.getByLabel('Key').or(signOut).waitFor();
  if (await signOut.isVisible()) await signOut.click();
  await page.getByLabel('Key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/w/${SLUG}`);
}

const DAY = 86_400_000;
const PLATFORMS = ['Web', 'iOS', 'Android'];
const COUNTRIES = ['DE', 'US', 'BR', 'JP'];

/** History spread over the last 6 days: several types, users, rooms, platforms, countries, errors. */
function history(n: number) {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `hist-${i}`,
    type: ['page.view', 'message.sent', 'api.request'][i % 3],
    timestamp: now - (i % 6) * DAY - (i % 7) * 60_000 - 60_000,
    userId: `u_${i % 9}`,
    sessionId: `s_${i % 13}`,
    room: i % 4 === 0 ? 'standup' : undefined,
    durationMs: 20 + (i % 10) * 15,
    bytesIn: 100 * (i % 5),
    bytesOut: 1000 * (i % 7),
    error: i % 10 === 0 ? 'timeout' : undefined,
    context: { platform: PLATFORMS[i % 3], country: COUNTRIES[i % 4], device: i % 2 ? 'mobile' : 'desktop' },
  }));
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('dashboard', () => {
  it('signs in with a read key and shows a new workspace what to do first', async () => {
    await page.goto(`${server.url}/w/${SLUG}/reports`);
    await page.getByLabel('Key').waitFor();
    await page.getByLabel('Key').fill(keys.ingest);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/read or admin key/);
    await signIn(keys.read);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'ep_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    await page.getByTestId('empty-state').waitFor();
    expect(await page.getByTestId('empty-state').textContent()).toContain(`/api/v1/workspaces/${SLUG}/events`);
    await shot('01-empty-workspace');
  });

  it('shows posted events in the cards and the feed within 1 s, without a reload', async () => {
    const before = await page.getByTestId('card-events-today').locator('.value').textContent();
    const t0 = Date.now();
    const res = await postEvents([
      { id: 'live-1', type: 'message.sent', userId: 'u_live', room: 'standup', durationMs: 120, bytesOut: 2048, context: { platform: 'iOS', country: 'DE' } },
      { id: 'live-2', type: 'api.request', userId: 'u_live2', durationMs: 480, error: 'timeout', context: { platform: 'Web', country: 'US' } },
      { id: 'live-3', type: 'presence.join', userId: 'u_live', room: 'standup' },
    ]);
    expect(res.status).toBe(202);
    await page.locator('[data-testid="feed"] li[data-id="live-2"]').waitFor({ timeout: 1_000 });
    await page.waitForFunction(
      (prev) => document.querySelector('[data-testid="card-events-today"] .value')?.textContent !== prev,
      before,
      { timeout: Math.max(1, 1_000 - (Date.now() - t0)) },
    );
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await page.getByTestId('card-events-today').locator('.value').textContent()).toBe('3');
    await page.locator('[data-testid="errors"] li[data-id="live-2"]').waitFor({ timeout: 1_000 });
    expect(await page.getByTestId('rooms').textContent()).toContain('standup');
    await page.waitForTimeout(300); // let the timeline chart (uPlot, lazy-loaded) draw for the screenshot
    await shot('02-live');
  });

  it('goes to reconnecting when the server stops and back to live when it returns', async () => {
    server.kill();
    try {
      await page.getByTestId('connection').filter({ hasText: /reconnecting|offline/ }).waitFor({ timeout: 5_000 });
      await shot('03-reconnecting');
    } finally {
      await server.restart();
    }
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 20_000 });
    // Live again means live: a new event reaches the feed.
    expect((await postEvents([{ id: 'after-restart', type: 'back.online', userId: 'u_live' }])).status).toBe(202);
    await page.locator('[data-testid="feed"] li[data-id="after-restart"]').waitFor({ timeout: 2_000 });
    await shot('04-live-again');
  });

  it('shows 7-day reports whose chart and tables match the API', async () => {
    const seeded = history(120);
    expect((await postEvents(seeded)).status).toBe(202);
    const total = seeded.length + 4;
    const q = `range=7d`;
    let summary: any;
    for (let i = 0; i < 50; i++) {
      summary = (await api('GET', `/workspaces/${SLUG}/stats/summary?${q}`, keys.read)).json;
      if (summary?.events === total) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(summary.events).toBe(total);
    const byType = (await api('GET', `/workspaces/${SLUG}/stats/breakdown?${q}&by=type&limit=25`, keys.read)).json;
    const series = (await api('GET', `/workspaces/${SLUG}/stats/timeseries?${q}&granularity=day&metrics=events,users,errors`, keys.read)).json;

    await page.goto(`${server.url}/w/${SLUG}/reports?range=7d`);
    await page.locator('[data-testid="breakdown-table"] tbody tr').first().waitFor();
    const card = (id: string) => page.getByTestId(id).locator('.value').textContent();
    expect(await card('sum-events')).toBe(summary.events.toLocaleString('en'));
    expect(await card('sum-users')).toBe(summary.users.toLocaleString('en'));
    expect(await card('sum-errors')).toBe(summary.errors.toLocaleString('en'));
    const rows = await page.locator('[data-testid="breakdown-table"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        key: tr.getAttribute('data-key'),
        events: Number(tr.querySelector('[data-col="events"]')!.textContent!.replace(/,/g, '')),
        errors: Number(tr.querySelector('[data-col="errors"]')!.textContent!.replace(/,/g, '')),
      })),
    );
    expect(rows).toEqual(byType.rows.map((r: any) => ({ key: r.key, events: r.events, errors: r.errors })));
    const chartTotal = Number(await page.getByTestId('timeseries-total').textContent());
    expect(chartTotal).toBe(series.points.reduce((a: number, p: any) => a + p.events, 0));
    expect(chartTotal).toBe(total);
    await page.locator('[data-testid="timeseries"] canvas').first().waitFor();
    // The view is in the URL: a filter click reproduces on reload.
    await page.locator('[data-testid="breakdown-table"] a', { hasText: 'message.sent' }).click();
    await page.waitForURL(/type=message\.sent/);
    await page.reload();
    const filtered = (await api('GET', `/workspaces/${SLUG}/stats/summary?${q}&type=message.sent`, keys.read)).json;
    await page.getByTestId('sum-events').locator('.value', { hasText: String(filtered.events) }).waitFor();
    await page.goto(`${server.url}/w/${SLUG}/reports?range=7d`);
    await page.locator('[data-testid="breakdown-table"] tbody tr').first().waitFor();
    await page.waitForTimeout(300);
    await shot('05-reports-7d');
  });

  it('exports the shown range as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const file = await download.path();
    const records = parse(readFileSync(file!, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(records.length).toBe(124);
    expect(new Set(records.map((r) => r.id))).toContain('hist-7');
    await shot('06-export');
  });

  it('pages through the raw event log like the API does', async () => {
    const first = (await api('GET', `/workspaces/${SLUG}/events?range=7d&limit=50`, keys.read)).json;
    const second = (await api('GET', `/workspaces/${SLUG}/events?range=7d&limit=50&cursor=${encodeURIComponent(first.nextCursor)}`, keys.read)).json;
    await page.getByRole('link', { name: 'Events' }).click();
    await page.waitForURL(/\/events\?range=7d/);
    const ids = () => page.locator('[data-testid="event-log"] tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    await page.locator('[data-testid="event-log"] tbody tr').first().waitFor();
    expect(await ids()).toEqual(first.events.map((e: any) => e.id));
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForURL(/cursor=/);
    await page.locator(`[data-testid="event-log"] tr[data-id="${second.events[0].id}"]`).waitFor();
    expect(await ids()).toEqual(second.events.map((e: any) => e.id));
    await shot('06b-event-log-page-2');
  });

  it('lets an admin create a key (shown once) and revoke it in settings', async () => {
    await signIn(keys.admin);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('keys-table').waitFor();
    await page.locator('#key-kind').selectOption('read');
    await page.locator('#key-name').fill('e2e laptop');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('new-secret').waitFor();
    const secret = (await page.getByTestId('new-secret').locator('code').textContent())!.trim();
    expect(secret).toMatch(/^rk_/);
    expect((await api('GET', `/workspaces/${SLUG}`, secret)).status).toBe(200);
    const row = page.locator('[data-testid="keys-table"] tr', { hasText: 'e2e laptop' });
    await row.waitFor();
    await shot('07-settings-key-created');
    await row.getByRole('button', { name: /Revoke/ }).click();
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await api('GET', `/workspaces/${SLUG}`, secret)).status).toBe(401);
    await shot('08-settings-key-revoked');
  });

  it('lets an admin edit the rollup properties in settings', async () => {
    await signIn(keys.admin);
    await page.getByRole('link', { name: 'Settings' }).click();
    const list = page.locator('#ws-rollup-properties');
    await list.waitFor();
    const save = page.locator('form', { has: list }).getByRole('button', { name: 'Save', exact: true });
    await list.getByRole('button', { name: 'Add property' }).click();
    await page.getByLabel('Rollup property 1').fill('plan');
    await list.getByRole('button', { name: 'Add property' }).click();
    await page.getByLabel('Rollup property 2').fill('tier');
    await save.click();
    await expect.poll(async () => (await api('GET', `/workspaces/${SLUG}`, keys.read)).json.workspace.rollupProperties, { timeout: 5_000 }).toEqual(['plan', 'tier']);
    await list.getByRole('button', { name: 'Remove' }).first().click();
    await save.click();
    await expect.poll(async () => (await api('GET', `/workspaces/${SLUG}`, keys.read)).json.workspace.rollupProperties, { timeout: 5_000 }).toEqual(['tier']);
    await shot('08b-settings-rollup-properties');
  });

  it('fits a phone screen in dark mode', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', deviceScaleFactor: 2 });
    await phone.addCookies((await context.cookies()).map((c) => ({ ...c })));
    const p = await phone.newPage();
    await p.goto(`${server.url}/w/${SLUG}`);
    await p.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    await p.getByTestId('card-events-today').waitFor();
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await p.waitForTimeout(300);
    await p.screenshot({ path: `${SHOTS}09-phone-dark.png`, fullPage: true });
    await phone.close();
  });

  it('falls back to polling the snapshot when WebSockets fail', async () => {
    const blocked = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await blocked.addCookies(await context.cookies());
    // Every live WebSocket is refused, as a proxy that does not pass upgrades would.
    await blocked.routeWebSocket(/\/live$/, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
    const p = await blocked.newPage();
    await p.goto(`${server.url}/w/${SLUG}`);
    await p.getByTestId('connection').filter({ hasText: 'live (polling)' }).waitFor({ timeout: 10_000 });
    const res = await postEvents([{ id: 'polled-1', type: 'seen.by.polling', userId: 'u_poll' }]);
    expect(res.status, `${JSON.stringify(res.json)}\n${server.log().slice(-3000)}`).toBe(202);
    await p.locator('[data-testid="feed"] li[data-id="polled-1"]').waitFor({ timeout: 4_000 });
    await p.screenshot({ path: `${SHOTS}09b-polling.png` });
    await blocked.close();
  });

  it('lets the root token sign in, list workspaces and open one', async () => {
    await createWorkspace(server, 'dash-other');
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Key').fill(server.rootToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await page.getByRole('link', { name: 'dash-other' }).waitFor();
    await shot('10-root-workspaces');
    await page.getByRole('link', { name: SLUG, exact: true }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}`);
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    const snapshot = (await api('GET', `/workspaces/${SLUG}/live`, keys.read)).json;
    await page.getByTestId('card-events-today').locator('.value', { hasText: snapshot.data.eventsToday.toLocaleString('en') }).waitFor({ timeout: 2_000 });
  });
});
