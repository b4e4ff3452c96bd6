import { mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/security-headers';
import { createWorkspace, startDevServer, type DevServer } from './server';
import { launchChromium } from './chromium';

// The browser-facing headers of the dashboard and /api/docs, and both pages working under that CSP in Chromium.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'csp-e2e';

let server: DevServer;
let browser: Browser;
let keys: { ingest: string; read: string; admin: string };

function expectPageHeaders(headers: Record<string, string>, what: string) {
  expect(headers['content-security-policy'], what).toBe(CONTENT_SECURITY_POLICY);
  expect(headers['x-frame-options'], what).toBe('DENY');
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  // Plain http here: HSTS only goes with https (test/security-headers.test.ts shows that side).
  expect(headers['strict-transport-security'], what).toBeUndefined();
}

/** What a page reports that it should not: console errors and warnings, uncaught errors, CSP violations, requests elsewhere. */
interface Watched {
  problems: string[];
  violations: string[];
}

async function watchedPage(context: BrowserContext, allow: (text: string, url: string) => boolean = () => false): Promise<{ page: Page } & Watched> {
  const page = await context.newPage();
  const watched: Watched = { problems: [], violations: [] };
  await page.exposeFunction('__reportViolation', (v: string) => watched.violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { __reportViolation(v: string): void }).__reportViolation(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !allow(m.text(), m.location().url)) watched.problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => watched.problems.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) watched.problems.push(`request to another origin: ${r.url()}`);
  });
  return { page, ...watched };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('security headers', () => {
  it('allows no inline script, no eval and no framing', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d] as const));
    expect(directives.get('script-src')).toBe("script-src 'self'");
    expect(directives.get('style-src')).toBe("style-src 'self'");
    expect(directives.get('frame-ancestors')).toBe("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|https?:|\*/);
  });

  it('are on the dashboard, its SPA fallback, its files and /api/docs as Chromium receives them', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: Record<string, Record<string, string>> = {};
    page.on('response', async (r) => {
      if (r.url().startsWith(server.url)) seen[new URL(r.url()).pathname] = await r.allHeaders();
    });
    for (const path of ['/', `/w/${SLUG}/reports`, '/no/such/page', '/api/docs']) {
      const res = await page.goto(`${server.url}${path}`);
      expect(res?.status(), path).toBe(200);
      expect(res?.headers()['content-type'], path).toMatch(/^text\/html/);
      expectPageHeaders(await res!.allHeaders(), path);
    }
    await page.waitForLoadState('networkidle');
    // Chromium fetches the <link rel="icon"> only sometimes in headless mode; ask for it from the page so its response is seen either way.
    expect(await page.evaluate(() => fetch('/favicon.svg').then((r) => r.status))).toBe(200);
    // The response handler reads headers asynchronously: wait until the last file's entry has landed.
    await expect.poll(() => '/favicon.svg' in seen, { timeout: 5_000 }).toBe(true);
    // The dashboard's hashed script and stylesheet (served without the Worker, from `_headers`) and Swagger UI's files.
    const files = Object.keys(seen).filter((p) => /\.(js|css|svg)$/.test(p));
    expect(files.some((p) => /^\/assets\/index-.*\.js$/.test(p)), files.join()).toBe(true);
    expect(files).toContain('/assets/api-docs/swagger-ui-bundle.js');
    expect(files).toContain('/assets/api-docs/api-docs.js');
    expect(files).toContain('/favicon.svg');
    for (const path of files) expectPageHeaders(seen[path], path);
    await context.close();
  });

  it('leave the API its JSON, with nosniff', async () => {
    for (const [path, status] of [['/health', 200], ['/api/v1/workspaces', 401], ['/api/v1/nope', 404], ['/v1/nope', 404]] as const) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    const ingest = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ id: 'hdr-1', type: 'header.check' }] }),
    });
    expect(ingest.status).toBe(202);
    expect(ingest.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keep the dashboard out of a frame on another origin', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const evil = 'http://evil.test/';
    await page.route(evil, (route) => route.fulfill({ contentType: 'text/html', body: `<iframe id="f" src="${server.url}/"></iframe>` }));
    await page.goto(evil);
    // Chromium refuses to render it (frame-ancestors 'none') and shows its error page in the frame instead.
    await expect.poll(() => page.frames().find((f) => f !== page.mainFrame())?.url(), { timeout: 10_000 }).toMatch(/^chrome-error:/);
    await context.close();
  });
});

describe('under the CSP', () => {
  it('the dashboard signs in, goes live over its WebSocket, shows a room, reports, events and settings without console errors or violations', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    // Before signing in, the dashboard asks for its session and is told 401: the one expected failed load.
    const { page, problems, violations } = await watchedPage(context, (text, url) => /status of 401/.test(text) && url.endsWith('/api/v1/session'));
    await page.goto(`${server.url}/w/${SLUG}`);
    await page.getByLabel('Key').fill(keys.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}`);
    await page.getByTestId('connection').filter({ hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    const posted = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ id: 'csp-live-1', type: 'message.sent', userId: 'u_csp', room: 'standup', durationMs: 40 }] }),
    });
    expect(posted.status).toBe(202);
    await page.locator('[data-testid="feed"] li[data-id="csp-live-1"]').waitFor({ timeout: 5_000 });
    await page.getByTestId('rooms').getByRole('link', { name: /standup/ }).click();
    await page.waitForURL(/\/rooms\/standup/);
    await page.getByRole('heading', { name: /standup/ }).first().waitFor();
    // Reports and the event log read history, which the hub's drain fills a few seconds after the 202: wait for it there first.
    const inHistory = async () => {
      const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events?limit=10`, { headers: { authorization: `Bearer ${keys.read}` } });
      return ((await res.json()) as { events: Array<{ id: string }> }).events.some((e) => e.id === 'csp-live-1');
    };
    for (const deadline = Date.now() + 20_000; !(await inHistory()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 250));
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.locator('[data-testid="timeseries"] canvas').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="breakdown-table"] tbody tr').first().waitFor({ timeout: 10_000 });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${SHOTS}csp-01-reports.png`, fullPage: true });
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('[data-testid="event-log"] tbody tr[data-id="csp-live-1"]').waitFor({ timeout: 10_000 });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('keys-table').waitFor();
    await page.waitForLoadState('networkidle');
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
    // The watch works and the policy holds: an injected inline script is refused and reported.
    await page.evaluate(() => document.body.appendChild(Object.assign(document.createElement('script'), { textContent: 'window.ran = 1' })));
    await expect.poll(() => violations.join()).toMatch(/script-src-elem inline/);
    expect(await page.evaluate(() => (window as unknown as { ran?: number }).ran)).toBeUndefined();
    await context.close();
  });

  it('the API reference lists every route and sends a try-it request with the key from its Authorize dialog', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const { page, problems, violations } = await watchedPage(context);
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    await page.goto(`${server.url}/api/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.opblock').count()).toBe(operations);
    expect(await page.locator('.opblock-summary-path').allTextContents()).toContain('/api/v1/workspaces/{ws}/stats/summary');

    // Authorize with the read key (the bearer scheme of the document).
    await page.getByRole('button', { name: /Authorize/ }).first().click();
    const bearer = page.locator('.dialog-ux .auth-container', { has: page.locator('h4', { hasText: 'bearer' }) });
    await bearer.getByLabel('auth-bearer-value').fill(keys.read);
    await bearer.getByRole('button', { name: 'Apply credentials' }).click();
    await bearer.getByRole('button', { name: 'Remove authorization' }).waitFor(); // its "Logout" button: authorized
    await page.locator('.dialog-ux .close-modal').click();

    // Try GET /api/v1/workspaces/{ws}: the request goes to this origin with the key.
    const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path', { hasText: /^\/api\/v1\/workspaces\/\{ws\}$/ }) });
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    await op.locator('tr[data-param-name="ws"] input').fill(SLUG);
    const request = page.waitForRequest((r) => r.url() === `${server.url}/api/v1/workspaces/${SLUG}`);
    await op.getByRole('button', { name: 'Execute' }).click();
    expect((await (await request).allHeaders()).authorization).toBe(`Bearer ${keys.read}`);
    const status = op.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 10_000 });
    expect((await status.textContent())?.trim()).toMatch(/^200/);
    expect(await op.locator('.live-responses-table .response .response-col_description').first().textContent()).toContain(`"slug": "${SLUG}"`);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${SHOTS}csp-02-api-docs-try-it.png` });
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
