import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createWorkspace, ROOT, type TestWorkspace } from './helpers';

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
