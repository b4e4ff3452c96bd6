import { describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush } from './helpers';

const ORIGIN = 'https://shop.example';
const preflight = (path: string, headers = 'content-type') =>
  call('OPTIONS', path, { headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': headers } });

describe('browsers may send events from their pages', () => {
  it('answers the preflight of /collect, POST …/events and the Segment routes', async () => {
    const ws = await createWorkspace('cors');
    for (const [path, headers] of [
      [`/api/v1/collect?key=${ws.keys.ingest}`, 'content-type'],
      [`/api/v1/workspaces/${ws.slug}/events`, 'authorization,content-type'],
      ['/v1/batch', 'authorization,content-type'],
    ]) {
      const res = await preflight(path, headers);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin'), path).toBe(ORIGIN);
      expect(res.headers.get('access-control-allow-methods'), path).toContain('POST');
      for (const h of headers.split(',').filter((h) => h !== 'content-type')) {
        expect(res.headers.get('access-control-allow-headers')?.toLowerCase(), path).toContain(h);
      }
    }
  });

  it('lets a page read the answer of a cross-origin POST, and allowedOrigins still refuses other pages', async () => {
    const ws = await createWorkspace('cors-post');
    const sent = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, headers: { origin: ORIGIN }, body: { id: 'cors-1', type: 'pageview' } });
    expect(sent.status).toBe(202);
    expect(sent.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const beacon = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, { headers: { origin: ORIGIN, 'content-type': 'text/plain' }, rawBody: JSON.stringify({ id: 'cors-2', type: 'pageview' }) });
    expect(beacon.status).toBe(202);
    expect(beacon.headers.get('access-control-allow-origin')).toBe(ORIGIN);

    const patch = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { allowedOrigins: ['https://other.example'] } });
    expect(patch.status).toBe(200);
    const refused = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, headers: { origin: ORIGIN }, body: { id: 'cors-3', type: 'pageview' } });
    expect(refused.status).toBe(403);
    expect(await flush(ws)).toBe(0);
    expect(await archivedCount(ws.id)).toBe(2);
  });
});
