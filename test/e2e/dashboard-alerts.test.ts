import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver } from '../node/webhook-receiver';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// Settings → Alerts and Scheduled reports driven in Chromium against `wrangler dev`, with a real local
// receiver whose every delivery is verified with the secret the screen showed once.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'alerts-e2e';

let server: DevServer;
let browser: Browser;
let page: Page;
let keys: { ingest: string; read: string; admin: string };
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

const nav = () => page.getByRole('navigation', { name: 'Workspace' });
const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

/** The deliveries a path received, each verified (signature and timestamp) with `secret`; throws on a bad one. */
function verified(path: string, secret: string): { type: string; data: any; id: string }[] {
  const wh = new Webhook(secret);
  return (receiver.received.get(path) ?? []).map((h) => ({ ...(wh.verify(h.body, h.headers) as { type: string; data: any }), id: h.headers['webhook-id'] }));
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function signIn(key: string) {
  await page.goto(`${server.url}/`);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  await page.getByLabel('Key', { exact: true }).or(signOut).waitFor();
  if (await signOut.isVisible()) await signOut.click();
  await page.getByLabel('Key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/w/${SLUG}`);
}

/** The secret the screen shows once after a create; the signing secret of that rule or schedule. */
async function shownSecret(): Promise<string> {
  const box = page.getByTestId('new-webhook-secret');
  await box.waitFor();
  const secret = (await box.locator('pre code').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^whsec_/);
  return secret;
}

let alertSecret = '';
let alertId = '';
let ruleCreatedAt = 0;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  receiver = await startWebhookReceiver();
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.server.close();
});

describe('dashboard: alerts and scheduled reports', () => {
  it('creates an alert rule in Settings, shows an API error beside its field, and lists the rule with its state', async () => {
    await signIn(keys.admin);
    await nav().getByRole('link', { name: 'Settings' }).click();
    const panel = page.getByTestId('alerts');
    await panel.getByText('No alert rules yet').waitFor();
    await panel.getByRole('button', { name: 'New alert' }).click();
    const form = page.getByRole('form', { name: 'Create an alert' });
    await form.getByLabel('Name', { exact: true }).fill('API errors');
    await form.getByLabel('Metric', { exact: true }).selectOption({ label: 'Error rate' });
    await form.getByLabel('Only events of type', { exact: true }).fill('api.request');
    await form.getByLabel('Threshold (%)', { exact: true }).fill('0');
    await form.getByLabel('Over the last (min)', { exact: true }).fill('1');
    await form.getByLabel('For at least (min)', { exact: true }).fill('0');
    expect(await form.getByTestId('alert-sentence').textContent()).toBe(
      'Fires when error rate (type api.request) over the last 1 min is above 0% at once; resolves when it no longer is.',
    );
    // A destination the server refuses (not https:, not loopback): its message appears at the URL field.
    await form.getByLabel('Destination URL', { exact: true }).fill('http://hooks.example.com/edgepulse');
    await form.getByRole('button', { name: 'Create alert' }).click();
    const urlError = form.locator('#alert-new-url-error');
    await urlError.waitFor();
    expect(await urlError.textContent()).toMatch(/https/);
    expect(await form.getByLabel('Destination URL', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await shot('alerts-01-field-error');

    await form.getByLabel('Destination URL', { exact: true }).fill(`${receiver.url}/alert`);
    await form.getByRole('button', { name: 'Create alert' }).click();
    alertSecret = await shownSecret();
    ruleCreatedAt = Date.now();
    const row = page.locator('[data-testid="alerts-table"] tr[data-alert-id]');
    await row.waitFor();
    alertId = (await row.getAttribute('data-alert-id'))!;
    expect(await row.textContent()).toContain('API errors');
    expect(await row.textContent()).toContain('Error rate (type api.request) > 0% over 1 min');
    expect(await row.getAttribute('data-state')).toBe('ok');
    // What the screen shows is what the API stored (the threshold in % on screen is a ratio on the wire).
    const stored = (await api('GET', `/workspaces/${SLUG}/alerts/${alertId}`, keys.admin)).json.alert;
    expect(stored).toMatchObject({ name: 'API errors', metric: 'errorRate', filter: { type: 'api.request' }, op: '>', threshold: 0, windowMinutes: 1, forMinutes: 0, enabled: true, state: 'ok' });
    expect(stored.destination).toEqual({ url: `${receiver.url}/alert`, format: 'standard' });
    await shot('alerts-02-created');
  });

  it('sends a test and shows the signed delivery in the rule’s log', async () => {
    await page.getByRole('button', { name: 'I have saved it' }).click();
    const row = page.locator(`tr[data-alert-id="${alertId}"]`);
    await row.getByRole('button', { name: 'Send test' }).click();
    const delivered = page.locator('[data-testid="deliveries"] tr[data-status="delivered"]');
    await delivered.waitFor({ timeout: 30_000 });
    expect(await delivered.textContent()).toContain('alert.test');
    expect(await delivered.textContent()).toContain('HTTP 200');
    const got = await until('the test delivery', () => verified('/alert', alertSecret).find((d) => d.type === 'alert.test'));
    expect(got.data).toMatchObject({ alertId, name: 'API errors', workspace: SLUG, metric: 'errorRate', op: '>', threshold: 0 });
    expect(await delivered.getAttribute('data-delivery-id')).toBe(got.id);
    await shot('alerts-03-test-delivered');
  });

  it('edits, disables and enables the rule', async () => {
    const row = page.locator(`tr[data-alert-id="${alertId}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit alert API errors' });
    await form.getByLabel('Name', { exact: true }).fill('API errors (edited)');
    await form.getByRole('button', { name: 'Save alert' }).click();
    await form.waitFor({ state: 'detached' });
    await row.getByText('API errors (edited)').waitFor();
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.locator(`tr[data-alert-id="${alertId}"][data-state="disabled"]`).waitFor();
    expect((await api('GET', `/workspaces/${SLUG}/alerts/${alertId}`, keys.admin)).json.alert).toMatchObject({ name: 'API errors (edited)', enabled: false, threshold: 0 });
    await row.getByRole('button', { name: 'Enable' }).click();
    await page.locator(`tr[data-alert-id="${alertId}"][data-state="ok"]`).waitFor();
  });

  it('creates a scheduled report, sends it now and shows its delivery; disables it; deletes it after a confirm', async () => {
    const panel = page.getByTestId('schedules');
    await panel.getByRole('button', { name: 'New scheduled report' }).click();
    const form = page.getByRole('form', { name: 'Create a scheduled report' });
    await form.getByLabel('Name', { exact: true }).fill('Weekly summary');
    await form.getByLabel('Report', { exact: true }).selectOption('week');
    await form.getByLabel('On', { exact: true }).selectOption({ label: 'Monday' });
    await form.getByLabel(/^At/).selectOption({ label: '08:00' });
    await form.getByLabel('Destination URL', { exact: true }).fill(`${receiver.url}/report`);
    await form.getByRole('button', { name: 'Create schedule' }).click();
    const secret = await shownSecret();
    const row = panel.locator('tr[data-schedule-id]');
    await row.waitFor();
    expect(await row.textContent()).toContain('Every Monday at 08:00');
    expect(await row.textContent()).toContain('never');
    const id = (await row.getAttribute('data-schedule-id'))!;
    expect((await api('GET', `/workspaces/${SLUG}/schedules`, keys.admin)).json.schedules).toEqual([
      expect.objectContaining({ id, name: 'Weekly summary', every: 'week', weekday: 1, hour: 8, destination: { url: `${receiver.url}/report`, format: 'standard' } }),
    ]);
    await page.getByRole('button', { name: 'I have saved it' }).click();

    await row.getByRole('button', { name: 'Send now' }).click();
    const delivered = panel.locator('[data-testid="deliveries"] tr[data-status="delivered"]');
    await delivered.waitFor({ timeout: 30_000 });
    expect(await delivered.textContent()).toContain('report.scheduled');
    const got = await until('the report', () => verified('/report', secret).find((d) => d.type === 'report.scheduled'));
    expect(got.data.workspace).toBe(SLUG);
    expect(got.data.dashboardUrl).toContain(`/w/${SLUG}/reports?`);
    await shot('alerts-04-schedule-sent');

    await row.getByRole('button', { name: 'Disable' }).click();
    await panel.locator(`tr[data-schedule-id="${id}"][data-enabled="false"]`).waitFor();
    expect((await api('GET', `/workspaces/${SLUG}/schedules/${id}`, keys.admin)).json.schedule.enabled).toBe(false);

    await row.getByRole('button', { name: 'Delete Weekly summary' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await panel.getByText('No scheduled reports yet').waitFor();
    expect((await api('GET', `/workspaces/${SLUG}/schedules`, keys.admin)).json.schedules).toEqual([]);
  });

  it('shows the firing alert on the live view, linking to Settings → Alerts', async () => {
    await nav().getByRole('link', { name: 'Live' }).click();
    // Errors keep coming until the banner shows: the rule needs a full window of data, then fires at once.
    let n = 0;
    const banner = page.getByTestId('firing-alerts');
    const send = setInterval(() => {
      const events = Array.from({ length: 3 }, (_, i) => ({ id: `err-${n}-${i}`, type: 'api.request', userId: 'u_1', durationMs: 100, ...(i === 0 ? { error: 'timeout' } : {}) }));
      n++;
      void api('POST', `/workspaces/${SLUG}/events`, keys.ingest, { events });
    }, 2_000);
    try {
      await banner.waitFor({ timeout: 90_000 });
    } finally {
      clearInterval(send);
    }
    console.log(`firing banner ${((Date.now() - ruleCreatedAt) / 1000).toFixed(1)} s after the rule was created`);
    const item = banner.locator(`li[data-alert-id="${alertId}"]`);
    expect(await item.textContent()).toMatch(/API errors \(edited\)Error rate is \d+(\.\d+)?%, threshold > 0%since/);
    await shot('alerts-05-live-firing');
    const firing = await until('the alert.firing delivery', () => verified('/alert', alertSecret).find((d) => d.type === 'alert.firing'));
    expect(firing.data).toMatchObject({ alertId, metric: 'errorRate' });
    expect(firing.data.dashboardUrl).toMatch(new RegExp(`/w/${SLUG}$`));

    await banner.getByRole('link', { name: 'Manage alerts' }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}/settings#alerts`);
    const row = page.locator(`tr[data-alert-id="${alertId}"][data-state="firing"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toMatch(/firing since/);
    // Its log shows the firing beside the test.
    await row.getByRole('button', { name: 'Deliveries' }).click();
    await page.locator(`[data-testid="deliveries"] tr[data-delivery-id="${firing.id}"]`).waitFor();
    await shot('alerts-06-settings-firing');
  });

  it('fits a phone screen in dark mode: the banner and Settings → Alerts', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', deviceScaleFactor: 2 });
    await phone.addCookies(await page.context().cookies());
    const p = await phone.newPage();
    const overflow = () => p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // What sticks out, for the failure message.
    const wide = () =>
      p.evaluate(() =>
        [...document.querySelectorAll('main *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest('.table-wrap, pre'))
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)
          .join(', '),
      );
    await p.goto(`${server.url}/w/${SLUG}`);
    await p.getByTestId('firing-alerts').waitFor({ timeout: 15_000 });
    expect(await overflow(), await wide()).toBeLessThanOrEqual(0);
    await p.screenshot({ path: `${SHOTS}alerts-07-phone-live.png`, fullPage: true });
    await p.getByTestId('firing-alerts').getByRole('link', { name: 'Manage alerts' }).click();
    await p.locator(`tr[data-alert-id="${alertId}"]`).waitFor();
    await p.screenshot({ path: `${SHOTS}alerts-08-phone-settings.png`, fullPage: true });
    expect(await overflow(), await wide()).toBeLessThanOrEqual(0);
    await phone.close();
  });

  it('keeps alert settings from a read key, which still sees the firing banner', async () => {
    await signIn(keys.read);
    await page.getByTestId('firing-alerts').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('firing-alerts').getByRole('link', { name: 'Manage alerts' }).count()).toBe(0);
    expect(await nav().getByRole('link', { name: 'Settings' }).count()).toBe(0);
    await page.goto(`${server.url}/w/${SLUG}/settings`);
    await page.getByText('Settings need an admin key').waitFor();
    expect(await page.getByTestId('alerts').count()).toBe(0);
    expect((await api('GET', `/workspaces/${SLUG}/alerts`, keys.read)).status).toBe(403);
  });

  it('takes a rule off the live banner when it is disabled, and deletes it after a confirm', async () => {
    await signIn(keys.admin);
    await page.getByTestId('firing-alerts').waitFor({ timeout: 15_000 });
    await page.getByTestId('firing-alerts').getByRole('link', { name: 'Manage alerts' }).click();
    const row = page.locator(`tr[data-alert-id="${alertId}"]`);
    // Disabling a firing rule resolves it: the banner goes, and the receiver gets the resolve.
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.locator(`tr[data-alert-id="${alertId}"][data-state="disabled"]`).waitFor();
    await nav().getByRole('link', { name: 'Live' }).click();
    await page.getByTestId('card-events-today').waitFor();
    await page.getByTestId('firing-alerts').waitFor({ state: 'detached', timeout: 15_000 });
    await until('the alert.resolved delivery', () => verified('/alert', alertSecret).find((d) => d.type === 'alert.resolved'));
    expect(verified('/alert', alertSecret).map((d) => d.type)).toEqual(['alert.test', 'alert.firing', 'alert.resolved']);

    await nav().getByRole('link', { name: 'Settings' }).click();
    await row.getByRole('button', { name: 'Delete API errors (edited)' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByTestId('alerts').getByText('No alert rules yet').waitFor();
    expect((await api('GET', `/workspaces/${SLUG}/alerts/${alertId}`, keys.admin)).status).toBe(404);
  });
});
