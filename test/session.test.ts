import { describe, expect, it } from 'vitest';
import { call, createWorkspace, ROOT } from './helpers';

const cookieOf = (headers: Headers) => /ep_session=[^;]+/.exec(headers.get('set-cookie') ?? '')?.[0];

describe('dashboard session', () => {
  it('signs in with a read key, sets a strict HttpOnly cookie, and answers who am I', async () => {
    const ws = await createWorkspace('sess');
    const res = await call('POST', '/api/v1/session', { body: { key: ws.keys.read } });
    expect(res.status).toBe(200);
    expect(res.json.session).toMatchObject({ kind: 'read', workspace: { slug: ws.slug } });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = cookieOf(res.headers)!;
    const me = await call('GET', '/api/v1/session', { headers: { cookie } });
    expect(me.json.session).toMatchObject({ kind: 'read', workspace: { slug: ws.slug } });
    // The cookie is a credential for the workspace's read routes, and not for another workspace.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}`, { headers: { cookie } })).status).toBe(200);
    const other = await createWorkspace('sess');
    expect((await call('GET', `/api/v1/workspaces/${other.slug}`, { headers: { cookie } })).status).toBe(403);
    // A read session may not do admin things.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/keys`, { headers: { cookie } })).status).toBe(403);
  });

  it('refuses ingest keys, unknown keys, forged cookies; sign-out clears the cookie', async () => {
    const ws = await createWorkspace('sess');
    expect((await call('POST', '/api/v1/session', { body: { key: ws.keys.ingest } })).status).toBe(403);
    expect((await call('POST', '/api/v1/session', { body: { key: 'rk_nottherightkeyatall123' } })).status).toBe(401);
    expect((await call('POST', '/api/v1/session', { body: {} })).status).toBe(400);
    expect((await call('GET', '/api/v1/session', { headers: { cookie: 'ep_session=eyJhbGciOiJIUzI1NiJ9.e30.x' } })).status).toBe(401);
    const out = await call('DELETE', '/api/v1/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/ep_session=;.*Max-Age=0/);
  });

  it('ends the session when its key is revoked', async () => {
    const ws = await createWorkspace('sess');
    const created = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: 'admin', name: 'laptop' } });
    const cookie = cookieOf((await call('POST', '/api/v1/session', { body: { key: created.json.secret } })).headers)!;
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/keys`, { headers: { cookie } })).status).toBe(200);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/${created.json.key.id}`, { token: ws.keys.admin })).status).toBe(204);
    // In the isolate that revoked it, at once (others notice within the 5 s session cache).
    expect((await call('GET', '/api/v1/session', { headers: { cookie } })).status).toBe(401);
  });

  it('lets the root token sign in and list workspaces', async () => {
    await createWorkspace('sess');
    const res = await call('POST', '/api/v1/session', { body: { key: ROOT() } });
    expect(res.json.session).toEqual({ kind: 'root', workspace: null });
    const list = await call('GET', '/api/v1/workspaces', { headers: { cookie: cookieOf(res.headers)! } });
    expect(list.status).toBe(200);
    expect(list.json.workspaces.length).toBeGreaterThan(0);
  });
});
