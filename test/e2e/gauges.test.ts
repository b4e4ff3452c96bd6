import { mkdirSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { createWorkspace, startDevServer, type DevServer } from './server';

// Gauges end to end: events with gauges sent to `wrangler dev`, read back from the API, /metrics and Chromium's dashboard.
const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const SLUG = 'gauges-e2e';
const MIN = 60_000;

let server: DevServer;
let browser: Browser;
let page: Page;
let keys: { ingest: string; read: string; admin: string };

async function api<T = any>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: T; text: string }> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: T = undefined as T;
  try {
    json = JSON.parse(text) as T;
  } catch {
    // /metrics is text
  }
  return { status: res.status, json, text };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startDevServer();
  keys = (await createWorkspace(server, SLUG)).keys;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('gauges end to end', () => {
  it('a server reporting levels: live tiles, history, /metrics and the Reports chart agree', async () => {
    const now = Date.now();
    // A relay reporting every 10 s for the last 20 minutes: cpu rising, queue depth falling.
    const events = Array.from({ length: 120 }, (_, i) => ({
      id: `tick-${i}`, type: 'relay.tick', timestamp: now - 20 * MIN + i * 10_000,
      gauges: { cpu: Math.round((0.2 + i / 200) * 1000) / 1000, 'queue.depth': 240 - 2 * i },
    }));
    const sent = await api('POST', `/workspaces/${SLUG}/events`, keys.ingest, { events });
    expect(sent.status).toBe(202);
    const last = events.at(-1)!.gauges;
    const lastMinute = events.filter((e) => Math.floor(e.timestamp / 1000) > Math.floor(Date.now() / 1000) - 60);

    const live = (await api('GET', `/workspaces/${SLUG}/live`, keys.read)).json.data;
    expect(live.gauges.cpu.last).toBe(last.cpu);
    expect(live.gauges['queue.depth'].last).toBe(last['queue.depth']);
    expect(live.gauges.cpu.max1m).toBe(Math.max(...lastMinute.map((e) => e.gauges.cpu)));

    // History within 5 s: every sample in the minute buckets, the last one the latest.
    const hist = await until('gauge history', async () => {
      const r = await api('GET', `/workspaces/${SLUG}/stats/gauges?name=cpu&granularity=minute&range=24h`, keys.read);
      const samples = r.json.points.reduce((a: number, p: any) => a + p.samples, 0);
      return samples === events.length ? r.json : undefined;
    });
    const latest = hist.points.filter((p: any) => p.samples > 0).at(-1);
    expect(latest.last).toBe(last.cpu);
    expect((await api('GET', `/workspaces/${SLUG}/stats/gauges?range=24h`, keys.read)).json).toEqual({ names: ['cpu', 'queue.depth'] });

    const metrics = await api('GET', `/workspaces/${SLUG}/metrics`, keys.read);
    const gauge = parsePrometheusTextFormat(metrics.text).find((f) => f.name === 'edgepulse_gauge')!;
    expect(Object.fromEntries(gauge.metrics.map((m) => [m.labels.name, Number(m.value)]))).toEqual({ cpu: last.cpu, 'queue.depth': last['queue.depth'] });

    // The dashboard: a tile per gauge on the live view…
    await page.goto(`${server.url}/`);
    await page.getByLabel('Key').fill(keys.read);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/w/${SLUG}`);
    const tile = page.locator('[data-testid="gauge"][data-name="queue.depth"]');
    await tile.locator('[data-col="last"]').filter({ hasText: String(last['queue.depth']) }).waitFor();
    await expect.poll(() => page.locator('[data-testid="gauge"]').count()).toBe(2);
    await page.locator('[data-testid="gauge"][data-name="cpu"] svg.spark path').waitFor();
    await page.screenshot({ path: `${SHOTS}gauges-live.png`, fullPage: true });

    // …and in Reports a chart of the picked gauge over the range, with the samples of the API's answer.
    await page.goto(`${server.url}/w/${SLUG}/reports?range=24h&granularity=hour`);
    const panel = page.getByTestId('gauge-report');
    await panel.getByLabel('Gauge').selectOption('queue.depth');
    await panel.getByTestId('gauge-summary').filter({ hasText: `${events.length} samples` }).waitFor();
    await expect.poll(() => panel.getByTestId('gauge-summary').textContent()).toContain(`min ${last['queue.depth']}`);
    await panel.locator('.uplot').waitFor();
    await page.screenshot({ path: `${SHOTS}gauges-reports.png`, fullPage: true });
  }, 120_000);
});
