import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// The Reports view in Chromium against `wrangler dev`: the previous period, property filters, the two
// y axes and the legend's values, each checked against the API's own answer.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'reports-e2e';
const DAY = 86_400_000;

let server: DevServer;
let browser: Browser;
let page: Page;
let keys: { ingest: string; read: string; admin: string };

async function api<T = any>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}
const read = (path: string) => api('GET', `/workspaces/${SLUG}${path}`, keys.read).then((r) => (expect(r.status, JSON.stringify(r.json)).toBe(200), r.json));

/**
 * Two weeks: the last 6 days (the 7d range) busier than the 6 days a week before (the previous range),
 * with more errors now, more users now, and a `plan` property on every event.
 */
function seed() {
  const now = Date.now();
  const current = Array.from({ length: 90 }, (_, i) => ({
    id: `cur-${i}`,
    type: ['page.view', 'api.request'][i % 2],
    timestamp: now - (i % 6) * DAY - (i % 5) * 60_000 - 120_000,
    userId: `u_${i % 12}`,
    durationMs: 30 + (i % 7) * 10,
    error: i % 9 === 0 ? 'timeout' : undefined,
    properties: { plan: i % 3 === 0 ? 'pro' : 'free' },
  }));
  const previous = Array.from({ length: 40 }, (_, i) => ({
    id: `prev-${i}`,
    type: ['page.view', 'api.request'][i % 2],
    timestamp: now - 7.5 * DAY - (i % 5) * DAY - (i % 4) * 60_000,
    userId: `u_${i % 5}`,
    durationMs: 30 + (i % 7) * 10,
    error: i % 20 === 0 ? 'timeout' : undefined,
    properties: { plan: i % 2 === 0 ? 'pro' : 'free' },
  }));
  return { current, previous };
}

const num = (text: string | null) => Number((text ?? '').replace(/,/g, ''));

/** The legend's rows as label → shown value. */
const legend = () =>
  page.locator('[data-testid="timeseries"] .u-legend .u-series').evaluateAll((rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('.u-label')?.textContent ?? r.querySelector('th')?.textContent ?? '', r.querySelector('.u-value')?.textContent ?? ''])),
  );

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  // A rolled-up property is what the filter form suggests by name.
  expect((await api('PATCH', `/workspaces/${SLUG}`, keys.admin, { rollupProperties: ['plan'] })).status).toBe(200);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('dashboard reports', () => {
  it('compares with the previous period, draws users on a right axis, filters by a property', async () => {
    const { current, previous } = seed();
    expect((await api('POST', `/workspaces/${SLUG}/events`, keys.ingest, { events: [...current, ...previous] })).status).toBe(202);
    let summary: any;
    for (let i = 0; i < 75; i++) {
      summary = await read('/stats/summary?range=7d&compare=previous');
      if (summary.events === current.length && summary.previous?.events === previous.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(summary.events).toBe(current.length);
    expect(summary.previous?.events).toBe(previous.length);
    const series = await read('/stats/timeseries?range=7d&compare=previous&granularity=day&metrics=events,users,errors,newUsers');
    expect(series.previous.points.length).toBe(series.points.length);

    // Sign in with the read key, open the reports and switch the comparison on: it lands in the URL.
    await page.goto(`${server.url}/`);
    await page.getByLabel('Key').fill(keys.read);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}`);
    // Every request the view makes is one the API takes (unknown parameters are a 400): none may fail.
    const refused: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/v1/') && r.status() >= 400) refused.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${server.url}/w/${SLUG}/reports?range=7d`);
    await page.getByTestId('compare-toggle').check();
    await page.waitForURL(/compare=previous/);

    // Cards: the value, the previous value, and the change in % as the API's numbers give it.
    for (const [card, field, verdict] of [
      ['sum-events', 'events', 'good'],
      ['sum-users', 'users', 'good'],
      ['sum-errors', 'errors', 'bad'], // more errors is worse
    ] as const) {
      const compare = page.getByTestId(`${card}-compare`);
      await compare.waitFor();
      expect(num(await page.getByTestId(card).locator('.value').textContent())).toBe(summary[field]);
      expect(Number(await compare.getAttribute('data-previous'))).toBe(summary.previous[field]);
      const ratio = (summary[field] - summary.previous[field]) / summary.previous[field];
      expect(Number(await compare.getAttribute('data-change'))).toBeCloseTo(ratio, 9);
      const shown = Math.abs(ratio * 100);
      expect(await compare.locator('.change').textContent()).toBe(`${ratio > 0 ? '▲' : '▼'} ${shown < 10 ? shown.toFixed(1) : Math.round(shown)}%`);
      expect(await compare.locator('.change').getAttribute('data-verdict')).toBe(verdict);
    }
    expect(summary.errors).toBeGreaterThan(summary.previous.errors);
    expect(summary.users).toBeGreaterThan(summary.previous.users);

    // The chart as uPlot built it: previous series dashed in the current one's colour, people on the right axis.
    const chart = page.locator('[data-testid="timeseries"] .chart[data-series*="(previous)"]');
    await chart.waitFor();
    const drawn = JSON.parse((await chart.getAttribute('data-series'))!) as Array<{ label: string; scale: string; dash: number[] | null; stroke: string }>;
    const byLabel = Object.fromEntries(drawn.map((s) => [s.label, s]));
    expect(Object.keys(byLabel)).toEqual(['events', 'users', 'errors', 'new users', 'events (previous)', 'users (previous)', 'errors (previous)', 'new users (previous)']);
    for (const m of ['events', 'users', 'errors', 'new users']) {
      expect(byLabel[m].dash).toBeNull();
      expect(byLabel[`${m} (previous)`].dash?.length).toBeGreaterThan(0);
      expect(byLabel[`${m} (previous)`].stroke).toBe(byLabel[m].stroke);
      expect(byLabel[`${m} (previous)`].scale).toBe(byLabel[m].scale);
    }
    expect(byLabel.users.scale).toBe('right');
    expect(byLabel['new users'].scale).toBe('right');
    expect(byLabel.events.scale).toBe('y');
    expect(byLabel.errors.scale).toBe('y');
    const axes = JSON.parse((await chart.getAttribute('data-axes'))!) as Array<{ scale: string; side: number }>;
    expect(axes).toEqual([
      { scale: 'x', side: 2 },
      { scale: 'y', side: 3 },
      { scale: 'right', side: 1 },
    ]);

    // The legend's markers: dashed for the previous period.
    const marker = (label: string) =>
      page
        .locator('[data-testid="timeseries"] .u-legend .u-series', { has: page.locator('.u-label', { hasText: new RegExp(`^${label.replace(/[()]/g, '\\$&')}$`) }) })
        .locator('.u-marker')
        .evaluate((m) => getComputedStyle(m).borderTopStyle);
    expect(await marker('users (previous)')).toBe('dashed');
    expect(await marker('users')).toBe('solid');

    // Legend, not hovering: the range's totals (users: the distinct count, not a sum of buckets).
    const sumOf = (points: any[], m: string) => points.reduce((a, p) => a + p[m], 0);
    await expect.poll(async () => num((await legend())['users (previous)'])).toBe(summary.previous.users);
    const totals = await legend();
    expect(num(totals.events)).toBe(summary.events);
    expect(num(totals['events (previous)'])).toBe(summary.previous.events);
    expect(num(totals.users)).toBe(summary.users);
    expect(num(totals.errors)).toBe(sumOf(series.points, 'errors'));
    expect(num(totals['errors (previous)'])).toBe(sumOf(series.previous.points, 'errors'));
    await page.screenshot({ path: `${SHOTS}reports-01-compare.png`, fullPage: true });

    // Hovering the last bucket: that bucket's values, this period's and the one a range before.
    const over = page.locator('[data-testid="timeseries"] .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.985, box.y + box.height / 2);
    const last = series.points.length - 1;
    await expect.poll(async () => num((await legend()).events)).toBe(series.points[last].events);
    const hovered = await legend();
    expect(num(hovered['events (previous)'])).toBe(series.previous.points[last].events);
    expect(num(hovered.users)).toBe(series.points[last].users);
    await page.mouse.move(0, 0);
    await expect.poll(async () => num((await legend()).events)).toBe(summary.events);

    // Breakdown by the property: the API's rows.
    const byPlan = await read('/stats/breakdown?range=7d&by=property:plan&limit=25');
    await page.getByRole('button', { name: 'property: plan' }).click();
    await page.waitForURL(/by=property%3Aplan/);
    await page.locator('[data-testid="breakdown-table"] tbody tr[data-key="pro"]').waitFor();
    const rows = await page.locator('[data-testid="breakdown-table"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({ key: tr.getAttribute('data-key'), events: Number(tr.querySelector('[data-col="events"]')!.textContent!.replace(/,/g, '')) })),
    );
    expect(rows).toEqual(byPlan.rows.map((r: any) => ({ key: r.key, events: r.events })));

    // A property filter, typed in: the URL holds it, the cards narrow to the API's filtered answer.
    const pro = await read('/stats/summary?range=7d&compare=previous&property.plan=pro');
    expect(pro.events).toBe(current.filter((e) => e.properties.plan === 'pro').length);
    expect(pro.previous.events).toBe(previous.filter((e) => e.properties.plan === 'pro').length);
    await page.getByLabel('Filter by').selectOption('property');
    await page.getByLabel('Property name').fill('plan');
    expect(await page.locator('#property-names option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(['plan']);
    await page.getByLabel('Filter value').fill('pro');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.waitForURL(/property\.plan=pro/);
    await page.getByTestId('sum-events').locator('.value', { hasText: new RegExp(`^${pro.events}$`) }).waitFor();
    const proCompare = page.getByTestId('sum-events-compare');
    await expect.poll(() => proCompare.getAttribute('data-previous')).toBe(String(pro.previous.events));
    expect(num(await page.getByTestId('sum-users').locator('.value').textContent())).toBe(pro.users);
    expect(await page.getByTestId('filter-chip').textContent()).toContain('property.plan = pro');
    const proSeries = await read('/stats/timeseries?range=7d&compare=previous&granularity=day&metrics=events,users,errors&property.plan=pro');
    expect(Number(await page.getByTestId('timeseries-total').textContent())).toBe(sumOf(proSeries.points, 'events'));
    await page.screenshot({ path: `${SHOTS}reports-02-property-filter.png`, fullPage: true });

    // The view is its URL: a reload shows the same filtered comparison; removing the chip widens it again.
    await page.reload();
    await page.getByTestId('sum-events').locator('.value', { hasText: new RegExp(`^${pro.events}$`) }).waitFor();
    await page.getByRole('button', { name: 'Remove filter property.plan' }).click();
    await page.waitForURL((u) => !u.search.includes('property.plan'));
    await page.getByTestId('sum-events').locator('.value', { hasText: new RegExp(`^${summary.events}$`) }).waitFor();
    expect(refused).toEqual([]);
  });
});
