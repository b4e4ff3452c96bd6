import { beforeAll, describe, expect, it } from 'vitest';
import { call, createWorkspace, flush, ROOT, type TestWorkspace } from './helpers';

/** What a share link may not see: raw events, user ids, settings, keys and administration. */
const FORBIDDEN: Array<[method: string, path: string]> = [
  ['GET', '/events'],
  ['GET', '/export?format=csv'],
  ['GET', '/users'],
  ['GET', '/users/u1'],
  ['GET', '/sessions'],
  ['GET', '/stats/breakdown?by=userId'],
  ['GET', '/stats/summary?userId=u1'],
  ['GET', '/stats/timeseries?granularity=day&userId=u1'],
  ['GET', '/stats/breakdown?by=type&userId=u1'],
  ['GET', '/rooms?userId=u1'],
  ['GET', '/stats/connections?userId=u1'],
  ['GET', ''],
  ['GET', '/keys'],
  ['GET', '/alerts'],
  ['GET', '/schedules'],
  ['GET', '/dead-letters'],
  ['GET', '/shares'],
  ['POST', '/shares'],
  ['POST', '/keys'],
  ['PATCH', ''],
  ['DELETE', '/users/u1'],
  ['DELETE', '/live'],
];

/** Aggregates: what a share link shows. */
const ALLOWED = [
  '/stats/summary?range=24h',
  '/stats/timeseries?range=24h&granularity=hour',
  '/stats/breakdown?by=type&range=24h',
  '/stats/breakdown?by=room&range=24h',
  '/rooms',
  '/stats/connections',
  '/stats/gauges?name=load',
  '/stats/retention',
  '/metrics',
  '/live',
  '/rooms/lobby/live',
];

describe('what a share link may read', () => {
  let ws: TestWorkspace;
  let token: string;

  beforeAll(async () => {
    ws = await createWorkspace('shacc');
    const events = Array.from({ length: 20 }, (_, i) => ({ id: `a-${i}`, type: i % 2 ? 'view' : 'click', userId: `u${i % 3}`, room: 'lobby' }));
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } })).status).toBe(202);
    await flush(ws);
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body: { name: 'wall' } });
    token = /\/s\/(sh_\w+)$/.exec(res.json.url)![1];
  });

  it('answers 403 "aggregates only" on raw events, user ids, settings, keys and administration; a key still reads them', async () => {
    for (const [method, path] of FORBIDDEN) {
      const res = await call(method, `/api/v1/workspaces/${ws.slug}${path}`, { token, body: method === 'POST' || method === 'PATCH' ? {} : undefined });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
      expect(res.json.error.message).toContain('a share link shows aggregates only');
    }
    for (const path of ['GET /admin/migration', 'GET /workspaces']) {
      const res = await call('GET', `/api/v1${path.slice(4)}`, { token });
      expect(res.status, path).toBe(403);
      expect(res.json.error.message).toContain('a share link shows aggregates only');
    }
    // The people routes answer a read key; the admin ones an admin key.
    for (const [method, path] of FORBIDDEN.filter(([m]) => m === 'GET')) {
      const admin = ['/keys', '/alerts', '/schedules', '/dead-letters', '/shares'].includes(path);
      const res = await call(method, `/api/v1/workspaces/${ws.slug}${path}`, { token: admin ? ws.keys.admin : ws.keys.read });
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 200)}`).toBe(200);
    }
  });

  it('answers 200 on reports, breakdowns, rooms, metrics and live snapshots, as it does to a read key', async () => {
    for (const path of ALLOWED) {
      for (const credential of [token, ws.keys.read]) {
        const res = await call('GET', `/api/v1/workspaces/${ws.slug}${path}`, { token: credential });
        expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBe(200);
      }
    }
    const summary = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=24h`, { token });
    expect(summary.json.events).toBe(20);
    const byType = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?by=type&range=24h`, { token });
    expect(byType.json.rows.map((r: { key: string }) => r.key).sort()).toEqual(['click', 'view']);
  });

  it('is no sign-in: POST /session with a share token sets no cookie; another workspace refuses it', async () => {
    const session = await call('POST', '/api/v1/session', { body: { key: token } });
    expect(session.status).toBe(403);
    expect(session.headers.get('set-cookie')).toBeNull();
    const other = await createWorkspace('shacc-other');
    const res = await call('GET', `/api/v1/workspaces/${other.slug}/stats/summary`, { token });
    expect(res.status).toBe(403);
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/shares`, { token: ROOT() })).status).toBe(200);
  });
});
