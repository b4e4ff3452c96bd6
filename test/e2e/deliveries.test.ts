import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestPeriod } from '../../src/alerts/schedules';
import { wall } from '../../src/history/time';
import { startWebhookReceiver, type ReceivedHook } from '../node/webhook-receiver';
import { createWorkspace, startDevServer, type DevServer } from './server';

// Deliveries against `wrangler dev` with a real HTTP receiver that verifies every request with
// standardwebhooks: retries under one webhook-id across a server restart, and a scheduled report
// sent once per period by the cron, fired at chosen times through Miniflare's
// /cdn-cgi/handler/scheduled?time= (wrangler's --test-scheduled /__scheduled always uses the real
// time; Miniflare's trigger fails for a Worker with assets, workers-sdk#9882, so this server runs
// the same wrangler.toml without its [assets] block: the dashboard is not needed here).
const H = 3_600_000;
const TZ = 'Europe/Berlin';
// Retries shortened from 5 s, 30 s, 2 min… so that three failures fit in the test.
const BACKOFF_SECONDS = '2,2,2,2';

let server: DevServer;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let keys: { ingest: string; read: string; admin: string };
const SLUG = 'deliveries';

const ROOT_DIR = new URL('../..', import.meta.url).pathname;
let configDir: string;

/** wrangler.toml without [assets], its paths made absolute (the copy lives in a temporary directory). */
function configWithoutAssets(): string {
  configDir = mkdtempSync(join(tmpdir(), 'edgepulse-deliveries-'));
  const toml = readFileSync(join(ROOT_DIR, 'wrangler.toml'), 'utf8')
    .replace(/\n\[assets\][\s\S]*?(?=\n\[|$)/, '\n')
    .replace(/^main = "(.*)"$/m, (_, p) => `main = "${join(ROOT_DIR, p)}"`)
    .replace(/^migrations_dir = "(.*)"$/m, (_, p) => `migrations_dir = "${join(ROOT_DIR, p)}"`);
  expect(toml).not.toContain('[assets]');
  const file = join(configDir, 'wrangler.toml');
  writeFileSync(file, toml);
  return file;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  server = await startDevServer({ vars: { DELIVERY_BACKOFF_SECONDS: BACKOFF_SECONDS }, args: ['--config', configWithoutAssets()] });
  keys = (await createWorkspace(server, SLUG, { timezone: TZ })).keys;
});

afterAll(async () => {
  await server?.stop();
  await new Promise<void>((r) => (receiver ? receiver.server.close(() => r()) : r()));
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

async function api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(v).slice(0, 500)}\n${server.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const got = (path: string): ReceivedHook[] => receiver.received.get(path) ?? [];

/** Every request verifies under the secret (throws otherwise) and carries the body it was signed over. */
function verified(hooks: ReceivedHook[], secret: string): Array<{ type: string; data: any }> {
  return hooks.map((h) => new Webhook(secret).verify(h.body, h.headers) as { type: string; data: any });
}

async function createSchedule(path: string, body: Record<string, unknown> = {}) {
  const res = await api('POST', '/schedules', keys.admin, { name: 'e2e', every: 'day', hour: 9, destination: { url: `${receiver.url}${path}` }, ...body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as { schedule: { id: string; every: 'day' | 'week'; hour: number; weekday: number | null; createdAt: string }; secret: string };
}

describe('deliveries against wrangler dev', () => {
  it('a scheduled report arrives once at its hour, fired twice and late, with the numbers of /stats/summary', async () => {
    const now = Date.now();
    // The next local hour: a schedule created now is first due then.
    const hour = wall(now + H, TZ).h;
    const path = '/report';
    const { schedule, secret } = await createSchedule(path, { hour });
    const period = latestPeriod({ ...schedule, createdAt: Date.parse(schedule.createdAt) }, TZ, now + 2 * H);
    expect(period.dueAt).toBeGreaterThan(now);
    // Events inside the period (and a few outside it, which the report must leave out).
    const events = Array.from({ length: 60 }, (_, i) => ({
      id: `r${i}`,
      type: i % 4 ? 'stream.view' : 'stream.error',
      room: `room-${i % 3}`,
      userId: `u${i % 9}`,
      timestamp: new Date(i < 50 ? period.from + i * 20 * 60_000 : period.to + (i - 50) * 60_000).toISOString(),
      ...(i % 4 ? {} : { error: 'stalled' }),
    }));
    expect((await api('POST', '/events', keys.ingest, { events })).status).toBe(202);

    const cron = (at: number) => fetch(`${server.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('*/5 * * * *')}&time=${at}`).then((r) => r.status);
    // Before the hour: nothing; at it, twice at once; then three hours late.
    expect(await cron(period.dueAt - 60_000)).toBe(200);
    expect(await Promise.all([cron(period.dueAt + 60_000), cron(period.dueAt + 60_000)])).toEqual([200, 200]);
    expect(await cron(period.dueAt + 3 * H)).toBe(200);

    const [report] = verified(await until('the report', () => got(path), (l) => l.length >= 1), secret);
    // Settle: nothing else arrives.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(got(path)).toHaveLength(1);
    expect(got(path)[0]!.headers['webhook-id']).toBe(`msg_${schedule.id}_${period.from}`);
    expect(report!.type).toBe('report.scheduled');
    const q = `from=${period.from}&to=${period.to}`;
    const summary = await api('GET', `/stats/summary?${q}`, keys.read);
    expect(report!.data).toMatchObject({ workspace: SLUG, from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() });
    expect(report!.data.summary).toEqual(summary.json);
    expect(report!.data.summary).toMatchObject({ events: 50, errors: 13 });
    expect(report!.data.topRooms).toEqual((await api('GET', `/stats/breakdown?${q}&by=room`, keys.read)).json.rows);
    expect(report!.data.dashboardUrl).toContain(`${server.url}/w/${SLUG}/reports?range=custom&from=`);
    const log = await api('GET', `/schedules/${schedule.id}/deliveries`, keys.admin);
    expect(log.json.deliveries).toEqual([expect.objectContaining({ type: 'report.scheduled', status: 'delivered', attempts: 1 })]);
  });

  it('500 three times then 200: the same webhook-id every time, four attempts logged, across a restart', async () => {
    const path = '/flaky';
    const { schedule, secret } = await createSchedule(`${path}?fail=3`);
    const sent = await api('POST', `/schedules/${schedule.id}/send`, keys.admin);
    expect(sent.status).toBe(202);
    const id = sent.json.delivery.id;
    // The first attempt fails (and is logged); kill the server before the next one.
    await until('the first attempt logged', () => api('GET', `/schedules/${schedule.id}/deliveries`, keys.admin), (r) => r.json.deliveries[0]?.attempts === 1);
    expect(got(path)).toHaveLength(1);
    await server.restart();
    const hooks = await until('four attempts', () => got(path), (l) => l.length >= 4, 45_000);
    expect(hooks.map((h) => h.answered)).toEqual([500, 500, 500, 200]);
    expect(new Set(hooks.map((h) => h.headers['webhook-id']))).toEqual(new Set([id]));
    const bodies = verified(hooks, secret);
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    const log = await until(
      'the log shows it delivered',
      () => api('GET', `/schedules/${schedule.id}/deliveries`, keys.admin),
      (r) => r.json.deliveries[0]?.status === 'delivered',
    );
    expect(log.json.deliveries).toEqual([expect.objectContaining({ id, status: 'delivered', attempts: 4, responseStatus: 200, error: null })]);
  });
});
