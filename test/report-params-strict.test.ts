import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobName } from '../src/history/rollup-properties';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';
import { deleteArchived } from './archived';
import { rng } from './history-dataset';

/** Unknown query parameters are a 400 on every read route; property.NAME filters, where taken, match brute force. */

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

/** Every read route with a query, the parameters that make it a valid request, and whether it takes property.NAME. */
const ROUTES: Array<{ path: string; doc: string; valid: string; properties: boolean }> = [
  { path: 'stats/summary', doc: '/stats/summary', valid: '', properties: true },
  { path: 'stats/timeseries', doc: '/stats/timeseries', valid: '', properties: true },
  { path: 'stats/breakdown', doc: '/stats/breakdown', valid: 'by=type', properties: true },
  { path: 'stats/connections', doc: '/stats/connections', valid: '', properties: false },
  { path: 'stats/retention', doc: '/stats/retention', valid: '', properties: false },
  { path: 'stats/gauges', doc: '/stats/gauges', valid: '', properties: false },
  { path: 'users', doc: '/users', valid: '', properties: true },
  { path: 'users/u1', doc: '/users/{userId}', valid: '', properties: true },
  { path: 'sessions', doc: '/sessions', valid: '', properties: true },
  { path: 'rooms', doc: '/rooms', valid: '', properties: true },
  { path: 'events', doc: '/events', valid: '', properties: true },
  { path: 'export', doc: '/export', valid: '', properties: true },
  { path: 'metrics', doc: '/metrics', valid: '', properties: true },
  { path: 'live', doc: '/live', valid: '', properties: false },
  { path: 'rooms/standup/live', doc: '/rooms/{room}/live', valid: '', properties: false },
];

describe('unknown query parameters', () => {
  let ws: TestWorkspace;
  let documented: Record<string, string[]>;

  beforeAll(async () => {
    ws = await createWorkspace('strict');
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    documented = Object.fromEntries(ROUTES.map((r) => {
      const op = doc.paths[`/api/v1/workspaces/{ws}${r.doc}`].get;
      return [r.path, (op.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name)];
    }));
  });

  const get = (path: string, query: string, token = ws.keys.read) => call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${query}`, { token });
  const takes = (r: (typeof ROUTES)[number]) => [...documented[r.path], ...(r.properties ? ['property.NAME'] : [])].join(', ');
  const withValid = (r: (typeof ROUTES)[number], q: string) => (r.valid ? `${r.valid}&${q}` : q);

  it.each(ROUTES)('$path: a misspelt parameter gets the contract’s error body, naming it and what the route takes', async (r) => {
    // The documented parameters are the ones the route takes: a valid request with nothing else succeeds.
    const ok = await get(r.path, r.valid);
    expect([200, 404], `${r.path} ${ok.text}`).toContain(ok.status); // users/u1 has no events: 404

    const one = await get(r.path, withValid(r, 'romm=standup'));
    expect(one.status, one.text).toBe(400);
    expect(one.json).toEqual({
      error: { code: 'invalid_request', message: `romm: unknown query parameter (this route takes ${takes(r)})`, issues: [{ path: 'romm', message: 'unknown query parameter' }] },
    });

    const two = await get(r.path, withValid(r, 'typ=page.view&romm=standup'));
    expect(two.status).toBe(400);
    expect(two.json).toEqual({
      error: {
        code: 'invalid_request',
        message: `typ, romm: unknown query parameters (this route takes ${takes(r)})`,
        issues: [{ path: 'typ', message: 'unknown query parameter' }, { path: 'romm', message: 'unknown query parameter' }],
      },
    });

    // Named first even beside a bad value of a known parameter, which is reported too.
    if (documented[r.path].includes('from')) {
      const mixed = await get(r.path, withValid(r, 'from=yesterday-ish&romm=standup'));
      expect(mixed.status).toBe(400);
      expect(mixed.json.error.message).toMatch(/^romm: unknown query parameter \(/);
      expect(mixed.json.error.issues[0]).toEqual({ path: 'romm', message: 'unknown query parameter' });
      expect(mixed.json.error.issues.map((i: { path: string }) => i.path)).toContain('from');
    }

    // property.NAME is a filter where filters are, an unknown parameter elsewhere.
    const prop = await get(r.path, withValid(r, 'property.plan=pro'));
    if (r.properties) expect([200, 404], prop.text).toContain(prop.status);
    else expect(prop.json.error.issues).toEqual([{ path: 'property.plan', message: 'unknown query parameter' }]);

    // Credentials are checked first: without one, 401 whatever the query.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/${r.path}?romm=standup`)).status).toBe(401);
  });

  it('a parameter given twice is a 400 naming it', async () => {
    for (const [path, query, name] of [['stats/summary', 'room=a&room=b', 'room'], ['stats/timeseries', 'granularity=hour&granularity=day', 'granularity'], ['events', 'limit=5&limit=6', 'limit'], ['live', 'token=a&token=b', 'token']]) {
      const res = await get(path, query);
      expect(res.status, `${path}?${query}`).toBe(400);
      expect(res.json).toEqual({ error: { code: 'invalid_request', message: `${name}: given more than once; give it once`, issues: [{ path: name, message: 'given more than once; give it once' }] } });
    }
    // A repeated property filter is one too.
    const prop = await get('stats/summary', 'property.plan=a&property.plan=b');
    expect(prop.status).toBe(400);
    expect(prop.json.error.issues).toEqual([{ path: 'property.plan', message: 'give each property filter once' }]);
  });

  it('a WebSocket upgrade or an SSE request with an unknown parameter gets the 400, not a stream', async () => {
    const ws101 = await call('GET', `/api/v1/workspaces/${ws.slug}/live?tokn=x`, { token: ws.keys.read, headers: { upgrade: 'websocket' } });
    expect(ws101.status).toBe(400);
    expect(ws101.json.error.issues).toEqual([{ path: 'tokn', message: 'unknown query parameter' }]);
    const sse = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/standup/live?tokn=x`, { token: ws.keys.read, headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(400);
  });

  it('the OpenAPI document describes property.NAME on the routes that take it', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    for (const r of ROUTES) {
      const op = doc.paths[`/api/v1/workspaces/{ws}${r.doc}`].get;
      const text = `${op.description ?? ''}`;
      if (r.properties) expect(text, r.path).toContain('property.NAME');
    }
  });
});

type Ev = { id: string; type: string; timestamp: number; userId: string; error?: string; properties: Record<string, string | boolean> };

describe('property filters against brute force', () => {
  let ws: TestWorkspace;
  const T0 = Math.floor((Date.now() - 6 * HOUR) / HOUR) * HOUR;
  const from = T0;
  const to = T0 + 4 * HOUR;
  const r = rng(99);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const events: Ev[] = Array.from({ length: 400 }, (_, i) => {
    const properties: Ev['properties'] = {};
    if (r() < 0.8) properties.plan = pick(['free', 'pro', 'team']);
    if (r() < 0.7) properties.model = pick(['gpt-4o', 'claude', 'llama']);
    if (r() < 0.4) properties.beta = r() < 0.5;
    return {
      id: `pf-${i}`, type: pick(['api.call', 'page.view']), timestamp: from + Math.floor(r() * (to - from)), userId: `u${Math.floor(r() * 25)}`,
      ...(r() < 0.1 ? { error: 'boom' } : {}), properties,
    };
  });
  const has = (name: string, value: string) => (e: Ev) => Object.hasOwn(e.properties, name) && String(e.properties[name]) === value;
  const and = (...fs: Array<(e: Ev) => boolean>) => (e: Ev) => fs.every((f) => f(e));
  const brute = (keep: (e: Ev) => boolean) => {
    const xs = events.filter(keep);
    return { events: xs.length, errors: xs.filter((e) => e.error).length, users: new Set(xs.map((e) => e.userId)).size, ids: xs.map((e) => e.id).sort() };
  };
  const get = async (path: string, q: Record<string, string | number>) => {
    const qs = new URLSearchParams(Object.entries({ from: iso(from), to: iso(to), ...q }).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}?${qs}`, { token: ws.keys.read });
    expect(res.status, `${path}?${qs} ${res.text}`).toBe(200);
    return res;
  };
  const summaryOf = async (q: Record<string, string>) => {
    const s = (await get('stats/summary', q)).json;
    return { events: s.events, errors: s.errors, users: s.users };
  };
  const counts = ({ events: n, errors, users }: ReturnType<typeof brute>) => ({ events: n, errors, users });

  beforeAll(async () => {
    ws = await createWorkspace('strict-props');
    // `plan` is a rollup property, complete since long before the range; `model` and `beta` are read from the archive.
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { rollupProperties: ['plan'] } })).status).toBe(200);
    await env.DB.prepare('UPDATE job_state SET state = ?2 WHERE name = ?1').bind(jobName(ws.id), JSON.stringify({ plan: 0 })).run();
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
    expect(res.status, res.text).toBe(202);
    expect(await flush(ws)).toBe(0);
  });

  it('summary, timeseries and breakdown: a rollup property, an archive property, two ANDed, a boolean', async () => {
    expect(await summaryOf({ 'property.plan': 'pro' })).toEqual(counts(brute(has('plan', 'pro'))));
    expect(await summaryOf({ 'property.model': 'claude' })).toEqual(counts(brute(has('model', 'claude'))));
    expect(await summaryOf({ 'property.plan': 'pro', 'property.model': 'claude' })).toEqual(counts(brute(and(has('plan', 'pro'), has('model', 'claude')))));
    expect(await summaryOf({ 'property.beta': 'true', type: 'api.call' })).toEqual(counts(brute(and(has('beta', 'true'), (e) => e.type === 'api.call'))));
    expect((await summaryOf({ 'property.nothing': 'x' })).events).toBe(0);

    const series = (await get('stats/timeseries', { granularity: 'hour', metrics: 'events,errors', 'property.plan': 'team', 'property.model': 'gpt-4o' })).json;
    expect(series.points).toHaveLength(4);
    series.points.forEach((p: { t: string; events: number; errors: number }, i: number) => {
      const inHour = (e: Ev) => e.timestamp >= from + i * HOUR && e.timestamp < from + (i + 1) * HOUR;
      const exact = brute(and(inHour, has('plan', 'team'), has('model', 'gpt-4o')));
      expect({ events: p.events, errors: p.errors }, p.t).toEqual({ events: exact.events, errors: exact.errors });
    });

    const rows = (await get('stats/breakdown', { by: 'type', 'property.model': 'llama' })).json.rows as Array<{ key: string; events: number }>;
    expect(Object.fromEntries(rows.map((x) => [x.key, x.events]))).toEqual(
      Object.fromEntries(['api.call', 'page.view'].map((t) => [t, brute(and(has('model', 'llama'), (e) => e.type === t)).events]).filter(([, n]) => n)),
    );
  });

  it('the event log and export apply the same filters', async () => {
    const keep = and(has('plan', 'free'), has('model', 'claude'));
    const list = (await get('events', { limit: 1000, 'property.plan': 'free', 'property.model': 'claude' })).json;
    expect(list.events.map((e: Ev) => e.id).sort()).toEqual(brute(keep).ids);
    const ndjson = (await get('export', { format: 'ndjson', 'property.plan': 'free', 'property.model': 'claude' })).text;
    expect(ndjson.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort()).toEqual(brute(keep).ids);
    const beta = (await get('export', { format: 'ndjson', 'property.beta': 'false' })).text;
    expect(beta.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort()).toEqual(brute(has('beta', 'false')).ids);
  });

  it('the rollup property is answered from rollups: with the raw events gone it still counts, the archive property no longer does', async () => {
    expect(await deleteArchived(ws.id)).toBeGreaterThan(0);
    expect(await summaryOf({ 'property.plan': 'pro' })).toEqual(counts(brute(has('plan', 'pro'))));
    expect((await summaryOf({ 'property.model': 'claude' })).events).toBe(0);
  });
});
