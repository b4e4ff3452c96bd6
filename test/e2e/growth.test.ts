import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// New users and retention cohorts through `wrangler dev`: events over five weeks in, the API's cohorts out, and the same numbers in Chromium's Reports.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'growth-e2e';
const TZ = 'Asia/Tokyo';
const DAY = 86_400_000;
const USERS = 24;

let server: DevServer;
let browser: Browser;
let page: Page;
let keys: { ingest: string; read: string; admin: string };

async function api<T = any>(path: string, token = keys.read): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as T };
}

/** Each user's first event somewhere in the last five weeks, then a visit every few days. */
function history() {
  const now = Date.now();
  const events: object[] = [];
  for (let u = 0; u < USERS; u++) {
    const first = now - (34 - u * 1.4) * DAY;
    for (let t = first, n = 0; t < now - 60_000; t += (2 + (u % 4)) * DAY, n++) {
      events.push({ id: `grow-${u}-${n}`, type: n ? 'page.view' : 'signup', userId: `user-${u}`, timestamp: Math.round(t) });
    }
  }
  return events;
}

/** The dashboard's percent format (format.ts). */
const pct = (r: number) => `${(r * 100).toFixed(r > 0 && r < 0.001 ? 2 : r < 0.1 ? 1 : 0)}%`;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG, { timezone: TZ })).keys;
  const events = history();
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 500) }),
    });
    expect(res.status).toBe(202);
  }
  // The hub drains on its alarm: poll until every user is counted.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ts = await api('/stats/timeseries?range=90d&granularity=week&metrics=newUsers');
    if (ts.json.points?.reduce((s: number, p: { newUsers: number }) => s + p.newUsers, 0) === USERS) break;
    if (Date.now() > deadline) throw new Error(`drain: ${JSON.stringify(ts.json)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 1000 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('growth end to end', () => {
  it('answers cohorts over HTTP: every user in one cohort, shares between 0 and 1', async () => {
    const res = await api('/stats/retention?cohort=week&periods=5');
    expect(res.status).toBe(200);
    const cohorts: Array<{ users: number; returning: Array<number | null> }> = res.json.cohorts;
    expect(cohorts).toHaveLength(6);
    expect(cohorts.reduce((s, c) => s + c.users, 0)).toBeGreaterThan(USERS / 2);
    const shares = cohorts.flatMap((c) => c.returning).filter((s): s is number => s !== null);
    expect(shares.length).toBeGreaterThan(5);
    for (const s of shares) expect(s >= 0 && s <= 1).toBe(true);
    expect((await api('/stats/retention?cohort=week&room=a')).status).toBe(400);
  });

  for (const grain of ['week', 'day'] as const) {
    it(`shows the ${grain} cohort table in Reports with the API's numbers`, async () => {
      if (grain === 'week') {
        await page.goto(`${server.url}/`);
        await page.getByLabel('Key').fill(keys.read);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${server.url}/w/${SLUG}`);
        await page.goto(`${server.url}/w/${SLUG}/reports`);
      } else {
        await page.getByRole('group', { name: 'Cohorts by' }).getByRole('button', { name: 'Day' }).click();
      }
      const periods = grain === 'week' ? 8 : 14;
      const expected = (await api(`/stats/retention?cohort=${grain}&periods=${periods}`)).json;
      const table = page.getByTestId('retention-table');
      await table.locator(`th:has-text("${grain === 'week' ? 'Week' : 'Day'} ${periods}")`).waitFor();
      const rows = table.locator('tbody tr');
      expect(await rows.count()).toBe(expected.cohorts.length);
      for (const c of expected.cohorts as Array<{ start: string; users: number; returning: Array<number | null> }>) {
        const row = table.locator(`tr[data-start="${c.start}"]`);
        expect(await row.locator('[data-col="users"]').textContent()).toBe(c.users.toLocaleString('en'));
        for (let i = 0; i < periods; i++) {
          const cell = row.locator(`[data-col="p${i + 1}"]`);
          const share = c.returning[i];
          expect(await cell.textContent(), `${c.start} +${i + 1}`).toBe(share === null ? '' : pct(share));
        }
      }
      await page.getByTestId('retention-panel').screenshot({ path: `${SHOTS}growth-retention-${grain}.png` });
    });
  }

  it('draws new users in the Reports time series', async () => {
    const chart = page.getByTestId('timeseries');
    await chart.locator('canvas').first().waitFor();
    await expect.poll(async () => (await chart.textContent()) ?? '').toContain('new users');
  });
});
