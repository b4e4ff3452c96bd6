import { describe, expect, it } from 'vitest';
import { originAllowed } from '../src/routes/ingest-helper';
import { call, countRows, createWorkspace, flush } from './helpers';

describe('allowedOrigins', () => {
  it('matches exact origins and *. subdomain patterns only', () => {
    const allowed = ['https://shop.example', 'https://*.app.example'];
    expect(originAllowed('https://shop.example', allowed)).toBe(true);
    expect(originAllowed('https://eu.app.example', allowed)).toBe(true);
    expect(originAllowed('https://app.example', allowed)).toBe(false);
    expect(originAllowed('http://shop.example', allowed)).toBe(false);
    expect(originAllowed('https://shop.example.evil', allowed)).toBe(false);
    expect(originAllowed('https://evilapp.example', allowed)).toBe(false);
  });

  it('refuses browser events from other origins once set, and stores nothing of them', async () => {
    const ws = await createWorkspace('origins');
    const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { allowedOrigins: ['https://shop.example'] } });
    expect(patch.status).toBe(200);
    const collect = (origin: string | undefined, id: string) =>
      call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, {
        rawBody: JSON.stringify({ id, type: 'pageview' }),
        headers: { 'content-type': 'text/plain', ...(origin ? { origin } : {}) },
      });
    const evil = await collect('https://evil.example', 'o-evil');
    expect(evil.status).toBe(403);
    expect(evil.json.error.code).toBe('forbidden');
    expect(evil.json.error.message).toContain('allowedOrigins');
    const viaEvents = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest, body: { id: 'o-evil-2', type: 'pageview' }, headers: { origin: 'https://evil.example' },
    });
    expect(viaEvents.status).toBe(403);
    expect((await collect('https://shop.example', 'o-shop')).status).toBe(202);
    expect((await collect(undefined, 'o-server')).status).toBe(202); // servers send no Origin
    await flush(ws);
    const ids = await countRows(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND id IN ('o-evil', 'o-evil-2')`, ws.id);
    expect(ids).toBe(0);
    expect(await countRows('SELECT count(*) AS n FROM events WHERE workspace_id = ?', ws.id)).toBe(2);
  });

  it('lets every origin in while the list is empty', async () => {
    const ws = await createWorkspace('origins-open');
    const res = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, {
      rawBody: JSON.stringify({ type: 'pageview' }),
      headers: { 'content-type': 'text/plain', origin: 'https://anywhere.example' },
    });
    expect(res.status).toBe(202);
  });
});
