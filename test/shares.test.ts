import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/shared/limits';
import { call, countRows, createWorkspace, ROOT, type TestWorkspace } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createShare(ws: TestWorkspace, body: Record<string, unknown> = {}) {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body });
  expect(res.status, res.text).toBe(201);
  const token = /\/s\/(sh_[A-Za-z0-9]+)$/.exec(res.json.url)?.[1];
  expect(token).toBeDefined();
  return { share: res.json.share, url: res.json.url as string, token: token! };
}

describe('share links: create, list, delete', () => {
  it('creates a share whose URL carries a bearer token; lists it newest first without tokens; deleting ends it at once', async () => {
    const ws = await createWorkspace('shr');
    const first = await createShare(ws, { name: 'Board room TV' });
    expect(first.url).toMatch(/^http:\/\/edgepulse\.test\/s\/sh_[A-Za-z0-9]{32}$/);
    expect(first.share).toMatchObject({ name: 'Board room TV', expiresAt: null });
    expect(first.share.id).toMatch(/^shr_[A-Za-z0-9]{16}$/);
    await sleep(5);
    const second = await createShare(ws, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(second.share.name).toBeNull();
    expect(Date.parse(second.share.expiresAt)).toBeGreaterThan(Date.now());

    const list = await call('GET', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin });
    expect(list.status).toBe(200);
    expect(list.json.shares.map((s: { id: string }) => s.id)).toEqual([second.share.id, first.share.id]);
    expect(list.text).not.toContain('sh_');
    const row = await env.DB.prepare('SELECT hash FROM shares WHERE id = ?').bind(first.share.id).first<{ hash: string }>();
    expect(row?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.hash).not.toContain(first.token);

    const info = await call('GET', '/api/v1/share', { token: first.token });
    expect(info.status).toBe(200);
    expect(info.json).toEqual({
      workspace: { slug: ws.slug, name: expect.any(String), timezone: 'UTC' },
      share: { id: first.share.id, name: 'Board room TV', expiresAt: null },
    });
    expect(info.headers.get('set-cookie')).toBeNull();

    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/shares/${first.share.id}`, { token: ws.keys.admin })).status).toBe(204);
    const after = await call('GET', '/api/v1/share', { token: first.token });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('unauthorized');
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=24h`, { token: first.token })).status).toBe(401);
    const again = await call('DELETE', `/api/v1/workspaces/${ws.slug}/shares/${first.share.id}`, { token: ws.keys.admin });
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe('not_found');
    expect((await call('GET', '/api/v1/share', { token: second.token })).status).toBe(200);
  });

  it('GET /api/v1/share answers a share token only', async () => {
    const ws = await createWorkspace('shr');
    for (const token of [ws.keys.read, ws.keys.admin, ROOT()]) {
      const res = await call('GET', '/api/v1/share', { token });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
    }
    expect((await call('GET', '/api/v1/share')).status).toBe(401);
    expect((await call('GET', '/api/v1/share', { token: `sh_${'x'.repeat(32)}` })).status).toBe(401);
  });
});

describe('share links: bad input, the cap, expiry, deleted workspaces', () => {
  it('answers 400 naming the field to bad input, and stores nothing', async () => {
    const ws = await createWorkspace('shr');
    const post = (body: unknown, rawBody?: string) =>
      call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, ...(rawBody === undefined ? { body } : { rawBody, headers: { 'content-type': 'application/json' } }) });
    const cases: Array<[unknown, string]> = [
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(LIMITS.shareNameMaxLength + 1) }, 'name'],
      [{ name: 42 }, 'name'],
      [{ expiresAt: new Date(Date.now() - 1000).toISOString() }, 'expiresAt'],
      [{ expiresAt: Date.now() - 1 }, 'expiresAt'],
      [{ expiresAt: 'next tuesday' }, 'expiresAt'],
      [{ expiresAt: 1e300 }, 'expiresAt'],
      [{ expiresAt: 1.5e12 + 0.5 }, 'expiresAt'],
      [{ expiresAt: true }, 'expiresAt'],
      [{ token: 'sh_mine' }, ''],
      [[], ''],
    ];
    for (const [body, path] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      if (path) expect(res.json.error.issues.map((i: { path: string }) => i.path), JSON.stringify(body)).toContain(path);
    }
    expect((await post(undefined, '{"name":')).status).toBe(400);
    expect(await countRows('SELECT count(*) AS n FROM shares WHERE workspace_id = ?', ws.id)).toBe(0);
    const inMs = await post({ expiresAt: Date.now() + 86_400_000 });
    expect(inMs.status).toBe(201);
    expect(Date.parse(inMs.json.share.expiresAt)).toBeGreaterThan(Date.now());
  });

  it(`holds at most ${LIMITS.sharesMax} share links (409 beyond); deleting one makes room`, async () => {
    const ws = await createWorkspace('shr');
    const rows = Array.from({ length: LIMITS.sharesMax - 1 }, (_, i) =>
      env.DB.prepare('INSERT INTO shares (id, workspace_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)').bind(`shr_fill${i}`, ws.id, null, `${ws.id}-${i}`, Date.now()),
    );
    await env.DB.batch(rows);
    const last = await createShare(ws);
    const over = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body: {} });
    expect(over.status).toBe(409);
    expect(over.json.error.code).toBe('conflict');
    expect(await countRows('SELECT count(*) AS n FROM shares WHERE workspace_id = ?', ws.id)).toBe(LIMITS.sharesMax);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/shares/${last.share.id}`, { token: ws.keys.admin })).status).toBe(204);
    await createShare(ws);
    // Another workspace's shares do not count.
    await createShare(await createWorkspace('shr'));
  });

  it('answers 401 once expiresAt has passed, though this isolate used the share a moment before (bearer and minted live token)', async () => {
    const ws = await createWorkspace('shr');
    const { token, share } = await createShare(ws, { expiresAt: Date.now() + 1500 });
    const summary = () => call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=24h`, { token });
    expect((await summary()).status).toBe(200);
    const live = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token });
    expect(live.status).toBe(200);
    const liveUrl = `/api/v1/workspaces/${ws.slug}/live?token=${live.json.token}`;
    expect((await call('GET', liveUrl)).status).toBe(200);
    await sleep(Math.max(0, Date.parse(share.expiresAt) - Date.now()) + 50);
    for (const res of [await summary(), await call('GET', '/api/v1/share', { token }), await call('GET', liveUrl)]) {
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
    }
    // Listed until deleted, with the time it ended.
    const list = await call('GET', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin });
    expect(list.json.shares[0]).toMatchObject({ id: share.id, expiresAt: share.expiresAt });
  });

  it('refuses a share whose expiry is past in storage', async () => {
    const ws = await createWorkspace('shr');
    const { token, share } = await createShare(ws);
    await env.DB.prepare('UPDATE shares SET expires_at = ? WHERE id = ?').bind(Date.now() - 1, share.id).run();
    // Never used before, so no isolate holds it: the row's expiry decides.
    expect((await call('GET', '/api/v1/share', { token })).status).toBe(401);
  });

  it('deleting the workspace deletes its shares; their tokens stop at once', async () => {
    const ws = await createWorkspace('shr');
    const { token } = await createShare(ws);
    expect((await call('GET', '/api/v1/share', { token })).status).toBe(200);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
    expect(await countRows('SELECT count(*) AS n FROM shares WHERE workspace_id = ?', ws.id)).toBe(0);
    expect((await call('GET', '/api/v1/share', { token })).status).toBe(401);
  });
});
