import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/shared/limits';
import { call, countRows, createWorkspace, ROOT } from './helpers';

const rule = (extra: Record<string, unknown> = {}) => ({
  name: 'Errors up', metric: 'errorRate', op: '>', threshold: 0.1, windowMinutes: 5, forMinutes: 0,
  destination: { url: 'https://127.0.0.1:9/edgepulse' }, ...extra,
});

describe('alert rules: routes', () => {
  it('creates, lists, reads, changes and deletes a rule; the secret is shown once', async () => {
    const ws = await createWorkspace('alr');
    const base = `/api/v1/workspaces/${ws.slug}/alerts`;
    const created = await call('POST', base, { token: ws.keys.admin, body: rule({ filter: { type: 'api.call' } }) });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(atob(created.json.secret.slice(6))).toHaveLength(24);
    const alert = created.json.alert;
    expect(alert).toMatchObject({
      id: expect.stringMatching(/^alr_/), name: 'Errors up', metric: 'errorRate', filter: { type: 'api.call' }, op: '>', threshold: 0.1,
      windowMinutes: 5, forMinutes: 0, destination: { format: 'standard' }, enabled: true, state: 'ok', since: null, value: null,
    });
    expect(JSON.stringify(alert)).not.toContain('whsec_');
    expect(alert.destination.url).toBe('https://127.0.0.1:9/edgepulse');

    const list = await call('GET', base, { token: ws.keys.admin });
    expect(list.json.alerts).toEqual([alert]);
    expect((await call('GET', `${base}/${alert.id}`, { token: ws.keys.admin })).json.alert).toEqual(alert);

    const patched = await call('PATCH', `${base}/${alert.id}`, { token: ws.keys.admin, body: { threshold: 0.2, enabled: false, destination: { url: 'https://127.0.0.1:9/slack', format: 'slack' } } });
    expect(patched.status).toBe(200);
    expect(patched.json.alert).toMatchObject({ threshold: 0.2, enabled: false, filter: { type: 'api.call' }, destination: { format: 'slack' } });

    expect((await call('DELETE', `${base}/${alert.id}`, { token: ws.keys.admin })).status).toBe(204);
    expect((await call('GET', `${base}/${alert.id}`, { token: ws.keys.admin })).status).toBe(404);
    expect((await call('DELETE', `${base}/${alert.id}`, { token: ws.keys.admin })).status).toBe(404);
    expect((await call('GET', base, { token: ws.keys.admin })).json.alerts).toEqual([]);
  });

  it('refuses bad rules with a 400 naming the field, and stores nothing', async () => {
    const ws = await createWorkspace('alr');
    const base = `/api/v1/workspaces/${ws.slug}/alerts`;
    const cases: Array<[Record<string, unknown>, string]> = [
      [rule({ metric: 'gauge' }), 'filter.gauge'],
      [rule({ filter: { gauge: 'cpu' } }), 'filter.gauge'],
      [rule({ metric: 'onlineUsers', filter: { type: 'x' } }), 'filter.type'],
      // The test Worker is reached at http://edgepulse.test: plain http is refused even to localhost.
      [rule({ destination: { url: 'http://localhost:9999/hook' } }), 'destination.url'],
      [rule({ destination: { url: 'http://hooks.example.com/x' } }), 'destination.url'],
      [rule({ destination: { url: 'not a url' } }), 'destination.url'],
      [rule({ destination: { url: 'https://user:pw@hooks.example.com/' } }), 'destination.url'],
      [rule({ windowMinutes: 0 }), 'windowMinutes'],
      [rule({ windowMinutes: 61 }), 'windowMinutes'],
      [rule({ forMinutes: 61 }), 'forMinutes'],
      [rule({ metric: 'cpu' }), 'metric'],
      [rule({ op: '>=' }), 'op'],
      [rule({ threshold: 1e16 }), 'threshold'],
      [rule({ name: '' }), 'name'],
      [rule({ filter: { room: 'bad room' } }), 'filter.room'],
      [rule({ extra: 1 }), ''],
    ];
    for (const [body, path] of cases) {
      const res = await call('POST', base, { token: ws.keys.admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      if (path) expect(res.json.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await countRows('SELECT COUNT(*) AS n FROM alert_rules WHERE workspace_id = ?', ws.id)).toBe(0);

    // PATCH validates the merged rule: a gauge rule without its gauge is refused, the rule unchanged.
    const ok = await call('POST', base, { token: ws.keys.admin, body: rule() });
    const bad = await call('PATCH', `${base}/${ok.json.alert.id}`, { token: ws.keys.admin, body: { metric: 'gauge' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.issues[0].path).toBe('filter.gauge');
    const fixed = await call('PATCH', `${base}/${ok.json.alert.id}`, { token: ws.keys.admin, body: { metric: 'gauge', filter: { gauge: 'cpu' } } });
    expect(fixed.json.alert).toMatchObject({ metric: 'gauge', filter: { gauge: 'cpu' } });
    expect((await call('PATCH', `${base}/${ok.json.alert.id}`, { token: ws.keys.admin, body: { threshold: 'high' } })).status).toBe(400);
  });

  it('needs an admin key of the workspace', async () => {
    const ws = await createWorkspace('alr');
    const other = await createWorkspace('alr');
    const base = `/api/v1/workspaces/${ws.slug}/alerts`;
    expect((await call('POST', base, { body: rule() })).status).toBe(401);
    expect((await call('POST', base, { token: ws.keys.read, body: rule() })).status).toBe(403);
    expect((await call('GET', base, { token: ws.keys.ingest })).status).toBe(403);
    expect((await call('GET', base, { token: other.keys.admin })).status).toBe(403);
    expect((await call('POST', base, { token: ROOT(), body: rule() })).status).toBe(201);
  });

  it(`keeps at most ${LIMITS.alertRulesMax} rules per workspace (409 beyond)`, async () => {
    const ws = await createWorkspace('alr');
    const now = Date.now();
    // The rules up to the cap straight into D1: a hundred POSTs would only repeat the first test.
    const stmt = env.DB.prepare(
      `INSERT INTO alert_rules (id, workspace_id, name, metric, filter, op, threshold, window_minutes, for_minutes, destination_url, destination_format, secret, enabled, state, created_at, updated_at)
       VALUES (?, ?, 'r', 'events', '{}', '>', 1, 1, 0, 'https://127.0.0.1:9/', 'standard', 'whsec_x', 1, 'ok', ?, ?)`,
    );
    await env.DB.batch(Array.from({ length: LIMITS.alertRulesMax - 1 }, (_, i) => stmt.bind(`alr_cap${i}`, ws.id, now, now)));
    const base = `/api/v1/workspaces/${ws.slug}/alerts`;
    expect((await call('POST', base, { token: ws.keys.admin, body: rule() })).status).toBe(201);
    const over = await call('POST', base, { token: ws.keys.admin, body: rule() });
    expect(over.status).toBe(409);
    expect(over.json.error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`${LIMITS.alertRulesMax} alert rules`) });
    expect(await countRows('SELECT COUNT(*) AS n FROM alert_rules WHERE workspace_id = ?', ws.id)).toBe(LIMITS.alertRulesMax);
  });

  it('test sends an alert.test delivery listed in the rule’s deliveries; deleting the workspace deletes its rules', async () => {
    const ws = await createWorkspace('alr');
    const base = `/api/v1/workspaces/${ws.slug}/alerts`;
    const { json } = await call('POST', base, { token: ws.keys.admin, body: rule() });
    const id = json.alert.id;
    const sent = await call('POST', `${base}/${id}/test`, { token: ws.keys.admin });
    expect(sent.status).toBe(202);
    expect(sent.json.delivery.id).toMatch(new RegExp(`^msg_${id}_test_`));
    const deliveries = await call('GET', `${base}/${id}/deliveries`, { token: ws.keys.admin });
    expect(deliveries.status).toBe(200);
    expect(deliveries.json.deliveries).toHaveLength(1);
    expect(deliveries.json.deliveries[0]).toMatchObject({ id: sent.json.delivery.id, type: 'alert.test' });
    expect((await call('POST', `${base}/alr_nope/test`, { token: ws.keys.admin })).status).toBe(404);
    expect((await call('GET', `${base}/alr_nope/deliveries`, { token: ws.keys.admin })).status).toBe(404);

    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
    expect(await countRows('SELECT COUNT(*) AS n FROM alert_rules WHERE workspace_id = ?', ws.id)).toBe(0);
  });

  it('describes evaluation and the no-flapping rule in the OpenAPI document', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).json;
    const post = doc.paths['/api/v1/workspaces/{ws}/alerts'].post;
    expect(post.description).toContain('forMinutes');
    expect(post.description).toContain(`${LIMITS.alertRefireAfterMs / 60_000} minutes`);
    for (const p of ['/api/v1/workspaces/{ws}/alerts/{id}', '/api/v1/workspaces/{ws}/alerts/{id}/test', '/api/v1/workspaces/{ws}/alerts/{id}/deliveries']) expect(doc.paths[p]).toBeDefined();
  });
});
