import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobName } from '../src/history/rollup-properties';
import { bucketStart } from '../src/history/time';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { deleteArchived } from './archived';
import { expectWithin, load, rng } from './history-dataset';

const DAY = 86_400_000;
const TZ = 'America/New_York';
const now = Date.now();
/** Four whole local days, ending two days ago: hour and day rollups only, no raw edges. */
const from = bucketStart(now - 6 * DAY, 'day', TZ);
const to = bucketStart(from + 4 * DAY + 3 * 3_600_000, 'day', TZ);
const LONG = `enterprise-${'x'.repeat(250)}`;
const cut = (v: string) => (v.length > LIMITS.rollupPropertyValueMaxLength ? `${v.slice(0, LIMITS.rollupPropertyValueMaxLength)}…` : v);

type Ev = {
  id: string; type: string; timestamp: number; userId?: string; sessionId?: string; error?: string; value?: number; bytesIn?: number;
  durationMs?: number; properties: Record<string, string | number | boolean>; context: { country: string };
};

function makeEvents(n: number, seed: number, prefix: string): Ev[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const properties: Ev['properties'] = {};
    if (r() < 0.8) properties.plan = pick(['free', 'pro', 'team', LONG]);
    if (r() < 0.6) properties.tier = pick([1, 2, 3]);
    if (r() < 0.5) properties.beta = r() < 0.5;
    if (r() < 0.5) properties.other = pick(['a', 'b']);
    const e: Ev = {
      id: `${prefix}-${i}`,
      type: pick(['page.view', 'api.call', 'message.sent']),
      timestamp: from + Math.floor(r() * (to - from)),
      properties,
      context: { country: pick(['US', 'DE', 'IN']) },
    };
    if (r() < 0.9) e.userId = `u${Math.floor(r() * 60)}`;
    if (r() < 0.8) e.sessionId = `s${Math.floor(r() * 200)}`;
    if (r() < 0.1) e.error = 'timeout';
    if (r() < 0.5) e.value = Math.floor(r() * 100);
    if (r() < 0.5) e.bytesIn = Math.floor(r() * 5000);
    return e;
  });
}

interface Totals { events: number; users: Set<string>; errors: number; value: number; bytesIn: number }
const empty = (): Totals => ({ events: 0, users: new Set(), errors: 0, value: 0, bytesIn: 0 });

/** Brute force: the events matching `where`, grouped by `key` (null: left out). */
function brute(events: Ev[], where: (e: Ev) => boolean, key: (e: Ev) => string | null = () => ''): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const e of events) {
    if (!where(e)) continue;
    const k = key(e);
    if (k === null) continue;
    let t = out.get(k);
    if (!t) out.set(k, (t = empty()));
    t.events++;
    if (e.userId) t.users.add(e.userId);
    if (e.error) t.errors++;
    t.value += e.value ?? 0;
    t.bytesIn += e.bytesIn ?? 0;
  }
  return out;
}
/** A property's value as rollups key it (cut); raw breakdowns show it whole (`whole`). */
const prop = (name: string, whole = false) => (e: Ev) => (Object.hasOwn(e.properties, name) ? (whole ? String : cut)(String(e.properties[name])) : null);
const has = (name: string, value: string) => (e: Ev) => prop(name)(e) === value;

const qs = (o: Record<string, unknown>) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();
async function get(ws: TestWorkspace, path: string, q: Record<string, unknown>) {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${qs(q)}`, { token: ws.keys.read });
  expect(res.status, `${path}?${qs(q)} ${res.text}`).toBe(200);
  return res;
}

function expectTotals(actual: { events: number; users: number; errors: number; value: number; bytesIn: number }, exact: Totals | undefined, what: string) {
  const t = exact ?? empty();
  expect(actual.events, `${what} events`).toBe(t.events);
  expect(actual.errors, `${what} errors`).toBe(t.errors);
  expect(actual.value, `${what} value`).toBe(t.value);
  expect(actual.bytesIn, `${what} bytesIn`).toBe(t.bytesIn);
  expectWithin(actual.users, t.users.size, 0.02, `${what} users`);
}

async function expectBreakdown(ws: TestWorkspace, q: Record<string, unknown>, exact: Map<string, Totals>) {
  const res = await get(ws, 'stats/breakdown', { from, to, limit: 1000, ...q });
  const rows = res.json.rows as Array<{ key: string; events: number; users: number; errors: number; value: number; bytesIn: number }>;
  expect(rows.map((r) => r.key).sort(), `keys of ${qs(q)}`).toEqual([...exact.keys()].sort());
  for (const r of rows) expectTotals(r, exact.get(r.key), `${qs(q)} ${r.key}`);
}

async function expectSummary(ws: TestWorkspace, q: Record<string, unknown>, exact: Totals | undefined) {
  const res = await get(ws, 'stats/summary', { from, to, ...q });
  expectTotals(res.json, exact, `summary ${qs(q)}`);
}

async function patch(ws: TestWorkspace, body: unknown) {
  return call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body });
}

describe('rollupProperties setting', () => {
  let ws: TestWorkspace;
  beforeAll(async () => {
    ws = await createWorkspace('rp-set');
  });

  it('is empty by default, set by PATCH and shown by GET', async () => {
    const before = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read });
    expect(before.json.workspace.rollupProperties).toEqual([]);
    const res = await patch(ws, { rollupProperties: ['plan', 'tier'] });
    expect(res.status, res.text).toBe(200);
    expect(res.json.workspace.rollupProperties).toEqual(['plan', 'tier']);
    const after = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read });
    expect(after.json.workspace.rollupProperties).toEqual(['plan', 'tier']);
    // A new name starts from a whole hour in the future; a kept one keeps its start.
    const state = await env.DB.prepare('SELECT state FROM job_state WHERE name = ?1').bind(jobName(ws.id)).first<{ state: string }>();
    const since = JSON.parse(state!.state) as Record<string, number>;
    expect(Object.keys(since).sort()).toEqual(['plan', 'tier']);
    expect(since.plan % 3_600_000).toBe(0);
    expect(since.plan).toBeGreaterThan(Date.now() + LIMITS.futureSkewMs);
    await patch(ws, { rollupProperties: ['tier', 'beta'] });
    const next = JSON.parse((await env.DB.prepare('SELECT state FROM job_state WHERE name = ?1').bind(jobName(ws.id)).first<{ state: string }>())!.state);
    expect(next.tier).toBe(since.tier);
    expect(Object.keys(next).sort()).toEqual(['beta', 'tier']);
  });

  it.each([
    [{ rollupProperties: Array.from({ length: LIMITS.rollupPropertiesMax + 1 }, (_, i) => `p${i}`) }, 'rollupProperties'],
    [{ rollupProperties: ['plan', 'plan'] }, 'rollupProperties.1'],
    [{ rollupProperties: [''] }, 'rollupProperties.0'],
    [{ rollupProperties: ['x'.repeat(LIMITS.propertyNameMaxLength + 1)] }, 'rollupProperties.0'],
    [{ rollupProperties: 'plan' }, 'rollupProperties'],
    [{ rollupProperties: [3] }, 'rollupProperties.0'],
  ])('refuses %j with a 400 naming %s, and stores nothing', async (body, path) => {
    const res = await patch(ws, body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    const after = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read });
    expect(after.json.workspace.rollupProperties).toEqual(['tier', 'beta']);
  });

  it.each([
    ['stats/summary', 'property.=x', 'property.'],
    ['stats/summary', 'property.plan=a&property.plan=b', 'property.plan'],
    ['stats/breakdown', `by=type&property.${'n'.repeat(LIMITS.propertyNameMaxLength + 1)}=x`, `property.${'n'.repeat(LIMITS.propertyNameMaxLength + 1)}`],
    ['events', `property.plan=${'v'.repeat(LIMITS.propertyStringMaxLength + 1)}`, 'property.plan'],
    ['export', Array.from({ length: LIMITS.propertyFiltersMax + 1 }, (_, i) => `property.p${i}=x`).join('&'), 'property.'],
  ])('%s?%s is a 400 naming %s', async (path, query, name) => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${query}`, { token: ws.keys.read });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.issues.map((i: { path: string }) => i.path)).toContain(name);
  });
});

describe('rollup properties answer like brute force', () => {
  let ws: TestWorkspace;
  const events = makeEvents(1500, 11, 'rp');

  beforeAll(async () => {
    ws = await createWorkspace('rp', { timezone: TZ });
    expect((await patch(ws, { rollupProperties: ['plan', 'tier', 'beta'] })).status).toBe(200);
    // As if the properties were added long ago: their rollups cover every range.
    await env.DB.prepare('UPDATE job_state SET state = ?2 WHERE name = ?1').bind(jobName(ws.id), JSON.stringify({ plan: 0, tier: 0, beta: 0 })).run();
    await load(ws, events);
  }, 120_000);

  it('the drain rolls up each listed property (values cut), and no other', async () => {
    const dims = await env.DB.prepare(`SELECT DISTINCT dim FROM rollups WHERE workspace_id = ?1 AND dim LIKE 'property:%' ORDER BY dim`).bind(ws.id).all<{ dim: string }>();
    expect(dims.results.map((d) => d.dim)).toEqual(['property:beta', 'property:plan', 'property:tier']);
    const keys = await env.DB.prepare(`SELECT DISTINCT key FROM rollups WHERE workspace_id = ?1 AND dim = 'property:plan'`).bind(ws.id).all<{ key: string }>();
    expect(keys.results.map((k) => k.key).sort()).toEqual(['free', 'pro', 'team', cut(LONG)].sort());
  });

  it('questions the rollups cannot answer read raw events, with the property filters applied', async () => {
    await expectSummary(ws, { 'property.other': 'a' }, brute(events, has('other', 'a')).get(''));
    await expectBreakdown(ws, { by: 'property:other' }, brute(events, () => true, prop('other')));
    // Two filters (a property and a dimension): raw.
    await expectSummary(ws, { 'property.plan': 'pro', country: 'US' }, brute(events, (e) => has('plan', 'pro')(e) && e.context.country === 'US').get(''));
    // The full long value is matched raw (rollups hold it cut).
    await expectSummary(ws, { 'property.plan': LONG }, brute(events, (e) => e.properties.plan === LONG).get(''));
    const list = await get(ws, 'events', { from, to, limit: 1000, 'property.plan': 'pro' });
    expect(list.json.events.length).toBe(events.filter(has('plan', 'pro')).length);
    expect(list.json.events.every((e: Ev) => e.properties.plan === 'pro')).toBe(true);
    const exported = await get(ws, 'export', { from, to, format: 'ndjson', 'property.beta': 'true' });
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as Ev);
    expect(lines.map((e) => e.id).sort()).toEqual(events.filter((e) => e.properties.beta === true).map((e) => e.id).sort());
  });

  it('rollup properties are answered from rollups alone (raw events deleted)', async () => {
    expect(await deleteArchived(ws.id)).toBeGreaterThan(0);
    // Raw questions now find nothing: whatever still answers below came from rollups.
    expect((await get(ws, 'stats/summary', { from, to, 'property.other': 'a' })).json.events).toBe(0);

    await expectBreakdown(ws, { by: 'property:plan' }, brute(events, () => true, prop('plan')));
    await expectBreakdown(ws, { by: 'property:tier', type: 'api.call' }, brute(events, (e) => e.type === 'api.call', prop('tier')));
    await expectBreakdown(ws, { by: 'property:plan', 'property.plan': 'team' }, brute(events, has('plan', 'team'), prop('plan')));
    await expectBreakdown(ws, { by: 'type', 'property.tier': '2' }, brute(events, has('tier', '2'), (e) => e.type));
    await expectSummary(ws, { 'property.beta': 'true' }, brute(events, has('beta', 'true')).get(''));
    await expectSummary(ws, { 'property.plan': cut(LONG).slice(0, 20) }, undefined);

    const series = await get(ws, 'stats/timeseries', { from, to, granularity: 'day', metrics: 'events,users', 'property.plan': 'pro' });
    const perDay = brute(events, has('plan', 'pro'), (e) => String(bucketStart(e.timestamp, 'day', TZ)));
    expect(series.json.points.length).toBe(4);
    for (const p of series.json.points as Array<{ t: string; events: number; users: number }>) {
      const exact = perDay.get(String(Date.parse(p.t)));
      expect(p.events, p.t).toBe(exact?.events ?? 0);
      expectWithin(p.users, exact?.users.size ?? 0, 0.02, `users ${p.t}`);
    }
  });
});

describe('a property added later', () => {
  it('reads raw events for ranges that start before its rollups are complete', async () => {
    const ws = await createWorkspace('rp-late', { timezone: TZ });
    const events = makeEvents(400, 12, 'late');
    await load(ws, events.slice(0, 200));
    expect((await patch(ws, { rollupProperties: ['plan'] })).status).toBe(200);
    await load(ws, events.slice(200));
    // The PATCH reached the hub: the events drained after it are in the property's rollups, the earlier ones are not.
    const rolled = await env.DB.prepare(`SELECT total(events) AS n FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND dim = 'property:plan'`).bind(ws.id).first<{ n: number }>();
    expect(rolled!.n).toBe(events.slice(200).filter((e) => Object.hasOwn(e.properties, 'plan')).length);
    // Only part of the events are in its rollups; the answer is still whole (raw: values uncut).
    await expectBreakdown(ws, { by: 'property:plan' }, brute(events, () => true, prop('plan', true)));
    await expectSummary(ws, { 'property.plan': 'free' }, brute(events, has('plan', 'free')).get(''));
  }, 60_000);
});
