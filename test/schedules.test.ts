import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { latestPeriod } from '../src/alerts/schedules';
import { sendDueReports } from '../src/alerts/send-reports';
import { wall } from '../src/history/time';
import worker from '../src/index';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

const RECEIVER = inject('webhookReceiverUrl');
const H = 3_600_000;
const D = 24 * H;

interface Received {
  headers: Record<string, string>;
  body: string;
}

const box = () => `/sched-${crypto.randomUUID()}`;
const received = async (path: string): Promise<Received[]> => (await fetch(`${RECEIVER}/_log${path}`)).json();

/** A request as the app gets it while running locally (loopback: plain http: destinations to localhost are allowed). */
async function local(method: string, path: string, token: string, body?: unknown) {
  const res = await exports.default.fetch(`http://localhost:8787${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

let ws: TestWorkspace;
const TZ = 'America/New_York';

/** Events over the last three local days (so yesterday and the day before have numbers). */
beforeAll(async () => {
  ws = await createWorkspace('sched', { timezone: TZ });
  const now = Date.now();
  const events = Array.from({ length: 240 }, (_, i) => ({
    id: `e${i}`,
    type: i % 3 ? 'call.started' : 'call.ended',
    room: `room-${i % 4}`,
    userId: `u${i % 11}`,
    timestamp: new Date(now - 3 * D + i * 18 * 60_000).toISOString(),
    ...(i % 10 === 0 ? { error: 'boom' } : {}),
  }));
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
  expect(res.status).toBe(202);
  await flush(ws);
});

describe('schedules routes', () => {
  it('creates (weekday defaults to Monday), lists, reads, changes and deletes', async () => {
    const created = await local('POST', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin, { name: 'Weekly', every: 'week', hour: 9, destination: { url: 'https://hooks.example.com/a' } });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
    expect(created.json.schedule).toMatchObject({ name: 'Weekly', every: 'week', hour: 9, weekday: 1, enabled: true, lastSentAt: null, destination: { url: 'https://hooks.example.com/a', format: 'standard' } });
    const id = created.json.schedule.id;
    const list = await local('GET', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin);
    expect(list.json.schedules.map((s: { id: string }) => s.id)).toContain(id);
    expect(JSON.stringify(list.json)).not.toContain('whsec_');
    const patched = await local('PATCH', `/api/v1/workspaces/${ws.slug}/schedules/${id}`, ws.keys.admin, { every: 'day', enabled: false });
    expect(patched.json.schedule).toMatchObject({ every: 'day', weekday: null, enabled: false, hour: 9 });
    expect((await local('DELETE', `/api/v1/workspaces/${ws.slug}/schedules/${id}`, ws.keys.admin)).status).toBe(204);
    expect((await local('GET', `/api/v1/workspaces/${ws.slug}/schedules/${id}`, ws.keys.admin)).status).toBe(404);
    expect((await local('DELETE', `/api/v1/workspaces/${ws.slug}/schedules/${id}`, ws.keys.admin)).status).toBe(404);
  });

  it('refuses bad input with a 400 and stores nothing', async () => {
    const before = (await local('GET', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin)).json.schedules.length;
    const bad = [
      { name: 'x', every: 'month', hour: 9, destination: { url: 'https://h.example.com' } },
      { name: 'x', every: 'day', hour: 24, destination: { url: 'https://h.example.com' } },
      { name: 'x', every: 'day', hour: 9, weekday: 2, destination: { url: 'https://h.example.com' } },
      { name: 'x', every: 'week', hour: 9, weekday: 7, destination: { url: 'https://h.example.com' } },
      { name: 'x', every: 'day', hour: 9, destination: { url: 'ftp://h.example.com' } },
      { name: 'x', every: 'day', hour: 9, destination: { url: 'not a url' } },
      { name: '', every: 'day', hour: 9, destination: { url: 'https://h.example.com' } },
      { name: 'x', every: 'day', hour: 9, destination: { url: 'https://h.example.com' }, extra: 1 },
    ];
    for (const body of bad) {
      const res = await local('POST', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
    }
    // Plain http: to localhost only while the server itself runs on loopback.
    const remote = await call('POST', `/api/v1/workspaces/${ws.slug}/schedules`, { token: ws.keys.admin, body: { name: 'x', every: 'day', hour: 9, destination: { url: 'http://localhost:9/x' } } });
    expect(remote.status).toBe(400);
    expect(remote.json.error.message).toContain('https:');
    // Read keys may not manage schedules.
    expect((await local('GET', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.read)).status).toBe(403);
    expect((await local('GET', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin)).json.schedules.length).toBe(before);
  });

  it(`at most ${LIMITS.schedulesMax} per workspace: then 409`, async () => {
    const other = await createWorkspace('sched-cap');
    for (let i = 0; i < LIMITS.schedulesMax; i++) {
      expect((await local('POST', `/api/v1/workspaces/${other.slug}/schedules`, other.keys.admin, { name: `s${i}`, every: 'day', hour: 9, destination: { url: 'https://h.example.com' } })).status).toBe(201);
    }
    const over = await local('POST', `/api/v1/workspaces/${other.slug}/schedules`, other.keys.admin, { name: 'one more', every: 'day', hour: 9, destination: { url: 'https://h.example.com' } });
    expect(over.status).toBe(409);
    // Deleting the workspace takes its schedules with it.
    expect((await call('DELETE', `/api/v1/workspaces/${other.slug}`, { token: env.ADMIN_TOKEN })).status).toBe(204);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM report_schedules WHERE workspace_id = ?').bind(other.id).first('n')).toBe(0);
  });
});

describe('changing the timing', () => {
  const deliveriesOf = async (id: string) => (await local('GET', `/api/v1/workspaces/${ws.slug}/schedules/${id}/deliveries`, ws.keys.admin)).json.deliveries as any[];
  const create = async (hour: number) =>
    (await local('POST', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin, { name: 'Moved', every: 'day', hour, destination: { url: `${RECEIVER}${box()}` } })).json.schedule;

  it('moved to an hour that already passed today: that period counts as done, the next one is sent', async () => {
    const now = Date.now();
    const schedule = await create(wall(now + 2 * H, TZ).h);
    const pastHour = wall(now - 2 * H, TZ).h;
    expect((await local('PATCH', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}`, ws.keys.admin, { hour: pastHour })).status).toBe(200);
    const skipped = latestPeriod({ every: 'day', hour: pastHour, weekday: null }, TZ, now);
    await sendDueReports(env, now + 60_000);
    expect(await deliveriesOf(schedule.id)).toEqual([]);
    await sendDueReports(env, skipped.dueAt + D + 60_000);
    const list = await until(() => deliveriesOf(schedule.id), (l) => l[0]?.status === 'delivered');
    expect(list.map((d) => d.id)).toEqual([`msg_${schedule.id}_${skipped.to}`]);
  });

  it('moved to an hour still ahead today: sent at it, once', async () => {
    const now = Date.now();
    const schedule = await create(wall(now + 2 * H, TZ).h);
    const nextHour = wall(now + H, TZ).h;
    await local('PATCH', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}`, ws.keys.admin, { hour: nextHour });
    const p = latestPeriod({ every: 'day', hour: nextHour, weekday: null }, TZ, now + 2 * H);
    expect(p.dueAt).toBeGreaterThan(now);
    await sendDueReports(env, p.dueAt - 60_000);
    expect(await deliveriesOf(schedule.id)).toEqual([]);
    await sendDueReports(env, p.dueAt + 60_000);
    await sendDueReports(env, p.dueAt + 120_000);
    const list = await until(() => deliveriesOf(schedule.id), (l) => l[0]?.status === 'delivered');
    expect(list.map((d) => d.id)).toEqual([`msg_${schedule.id}_${p.from}`]);
  });
});

describe('sending reports', () => {
  it('send now: a signed report of yesterday with the numbers of /stats/summary and /stats/breakdown', async () => {
    const path = box();
    const created = await local('POST', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin, { name: 'Daily', every: 'day', hour: 23, destination: { url: `${RECEIVER}${path}` } });
    const { schedule, secret } = created.json;
    const sent = await local('POST', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}/send`, ws.keys.admin);
    expect(sent.status).toBe(202);
    const [got] = await until(() => received(path), (l) => l.length > 0);
    expect(got!.headers['webhook-id']).toBe(sent.json.delivery.id);
    const body = new Webhook(secret).verify(got!.body, got!.headers) as { type: string; data: any };
    expect(body.type).toBe('report.scheduled');
    const period = latestPeriod({ ...schedule, createdAt: 0 }, TZ, Date.now(), 0);
    const data = body.data;
    expect(data).toMatchObject({ workspace: ws.slug, from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() });
    const q = `from=${period.from}&to=${period.to}`;
    const summary = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?${q}`, { token: ws.keys.read });
    expect(data.summary).toEqual(summary.json);
    expect(data.summary.events).toBeGreaterThan(50);
    const previous = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?from=${period.from - D}&to=${period.from}`, { token: ws.keys.read });
    expect(data.previous).toMatchObject(previous.json);
    expect(data.topTypes).toEqual((await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?${q}&by=type`, { token: ws.keys.read })).json.rows);
    expect(data.topRooms).toEqual((await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?${q}&by=room`, { token: ws.keys.read })).json.rows);
    expect(data.topRooms).toHaveLength(4);
    expect(data.dashboardUrl).toBe(`http://localhost:8787/w/${ws.slug}/reports?range=custom&from=${encodeURIComponent(data.from)}&to=${encodeURIComponent(data.to)}`);
    // The deliveries log.
    const log = await until(() => local('GET', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}/deliveries`, ws.keys.admin), (r) => r.json.deliveries[0]?.status === 'delivered');
    expect(log.json.deliveries).toEqual([expect.objectContaining({ id: sent.json.delivery.id, type: 'report.scheduled', status: 'delivered', attempts: 1, responseStatus: 200 })]);
    const listed = await local('GET', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}`, ws.keys.admin);
    expect(listed.json.schedule.lastSentAt).not.toBeNull();
  });

  it('the cron sends each period once: run twice at once, again late, and not before its hour', async () => {
    const path = box();
    const now = Date.now();
    // The next local hour from now: a schedule created now waits for it.
    const hour = wall(now + H, TZ).h;
    const created = await local('POST', `/api/v1/workspaces/${ws.slug}/schedules`, ws.keys.admin, { name: 'Cron', every: 'day', hour, destination: { url: `${RECEIVER}${path}` } });
    const { schedule } = created.json;
    const timing = { ...schedule, createdAt: Date.parse(schedule.createdAt) };
    const first = latestPeriod(timing, TZ, now + 3 * H);
    expect(first.dueAt).toBeGreaterThan(now);
    const deliveries = async () => (await local('GET', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}/deliveries`, ws.keys.admin)).json.deliveries as any[];
    // Before its hour: nothing.
    await sendDueReports(env, first.dueAt - 60_000);
    expect(await deliveries()).toEqual([]);
    // Two crons at the same time, then a late one, then the full cron handler: one delivery.
    await Promise.all([sendDueReports(env, first.dueAt + 60_000), sendDueReports(env, first.dueAt + 60_000)]);
    await sendDueReports(env, first.dueAt + 2 * H);
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: first.dueAt + 5 * 60_000, cron: '*/5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const list = await until(deliveries, (l) => l[0]?.status === 'delivered');
    expect(list).toHaveLength(1);
    expect(list[0].id).toBe(`msg_${schedule.id}_${first.from}`);
    const got = await received(path);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body).data).toMatchObject({ from: new Date(first.from).toISOString(), to: new Date(first.to).toISOString() });
    // The next day's period is due the next day.
    await sendDueReports(env, first.dueAt + D + 60_000);
    expect(await until(deliveries, (l) => l.length === 2 && l[0].status === 'delivered')).toHaveLength(2);
    // A disabled schedule is not sent.
    await local('PATCH', `/api/v1/workspaces/${ws.slug}/schedules/${schedule.id}`, ws.keys.admin, { enabled: false });
    await sendDueReports(env, first.dueAt + 2 * D + 60_000);
    expect(await deliveries()).toHaveLength(2);
  });
});
