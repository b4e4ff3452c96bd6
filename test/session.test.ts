import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';
import { LIMITS } from '../src/shared/limits';
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

const signIn = async (key: string) => cookieOf((await call('POST', '/api/v1/session', { body: { key } })).headers)!;
const jtiOf = (cookie: string) => JSON.parse(atob(cookie.split('=')[1].split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).jti as string;

describe('signing out ends the session on the server', () => {
  it('a copy of the cookie stops working after sign-out, everywhere; another session of the same key keeps working', async () => {
    const ws = await createWorkspace('out');
    const cookie = await signIn(ws.keys.admin);
    const laptop = await signIn(ws.keys.admin);
    expect(jtiOf(cookie)).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(jtiOf(cookie)).not.toBe(jtiOf(laptop));
    for (const path of ['/api/v1/session', `/api/v1/workspaces/${ws.slug}`, `/api/v1/workspaces/${ws.slug}/live`]) {
      expect((await call('GET', path, { headers: { cookie } })).status, path).toBe(200);
    }

    const before = Date.now();
    const out = await call('DELETE', '/api/v1/session', { headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/ep_session=;.*Max-Age=0/);
    // The copy (the same cookie sent again) is refused on every route, live and token minting included.
    for (const [method, path] of [['GET', '/api/v1/session'], ['GET', `/api/v1/workspaces/${ws.slug}`], ['GET', `/api/v1/workspaces/${ws.slug}/live`], ['POST', `/api/v1/workspaces/${ws.slug}/live/token`], ['GET', `/api/v1/workspaces/${ws.slug}/keys`]]) {
      const res = await call(method, path, { headers: { cookie } });
      expect(res.status, path).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
    }
    // Remembered until the session would have expired, no longer.
    const row = await env.DB.prepare('SELECT expires_at FROM ended_sessions WHERE id = ?').bind(jtiOf(cookie)).first<{ expires_at: number }>();
    expect(row!.expires_at).toBeGreaterThan(before + LIMITS.sessionTtlMs - 60_000);
    expect(row!.expires_at).toBeLessThanOrEqual(Date.now() + LIMITS.sessionTtlMs);
    // Only that session ended.
    expect((await call('GET', '/api/v1/session', { headers: { cookie: laptop } })).status).toBe(200);
    // Signing out again, or without a cookie, is still 204.
    expect((await call('DELETE', '/api/v1/session', { headers: { cookie } })).status).toBe(204);
    expect((await call('DELETE', '/api/v1/session')).status).toBe(204);
  });

  it('ends root sessions too', async () => {
    const cookie = await signIn(ROOT());
    expect((await call('GET', '/api/v1/workspaces', { headers: { cookie } })).status).toBe(200);
    expect((await call('DELETE', '/api/v1/session', { headers: { cookie } })).status).toBe(204);
    expect((await call('GET', '/api/v1/workspaces', { headers: { cookie } })).status).toBe(401);
  });

  it('another instance’s sign-out (a row in ended_sessions) ends the session here within the session cache time', async () => {
    const ws = await createWorkspace('out');
    const cookie = await signIn(ws.keys.read);
    // Cached here as "not ended".
    expect((await call('GET', '/api/v1/session', { headers: { cookie } })).status).toBe(200);
    await env.DB.prepare('INSERT INTO ended_sessions (id, expires_at) VALUES (?, ?)').bind(jtiOf(cookie), Date.now() + LIMITS.sessionTtlMs).run();
    const start = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - start < LIMITS.sessionKeyCacheMs + 5_000) {
      status = (await call('GET', '/api/v1/session', { headers: { cookie } })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - start).toBeLessThanOrEqual(LIMITS.sessionKeyCacheMs + 2_000);
  });

  it('refuses a session cookie without an id (issued before sign-out could end it): sign in again', async () => {
    const ws = await createWorkspace('out');
    const keyId = (await env.DB.prepare(`SELECT id FROM api_keys WHERE workspace_id = ? AND kind = 'read'`).bind(ws.id).first<{ id: string }>())!.id;
    const exp = Math.floor((Date.now() + 3_600_000) / 1000);
    const old = await sign({ sub: keyId, kind: 'read', ws: ws.id, exp, aud: 'edgepulse-session' }, env.SESSION_SECRET, 'HS256');
    expect((await call('GET', '/api/v1/session', { headers: { cookie: `ep_session=${old}` } })).status).toBe(401);
    // The same claims with an id are accepted: the id is what was missing.
    const current = await sign({ sub: keyId, kind: 'read', ws: ws.id, exp, aud: 'edgepulse-session', jti: 'x'.repeat(24) }, env.SESSION_SECRET, 'HS256');
    expect((await call('GET', '/api/v1/session', { headers: { cookie: `ep_session=${current}` } })).status).toBe(200);
  });

  it('the cron deletes ended sessions once they would have expired', async () => {
    const now = Date.now();
    await env.DB.prepare('INSERT INTO ended_sessions (id, expires_at) VALUES (?, ?), (?, ?)').bind('gone-by-now', now - 1000, 'still-valid', now + 60_000).run();
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: now, cron: '*/5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const ids = (await env.DB.prepare(`SELECT id FROM ended_sessions WHERE id IN ('gone-by-now', 'still-valid')`).all<{ id: string }>()).results.map((r) => r.id);
    expect(ids).toEqual(['still-valid']);
  });
});
