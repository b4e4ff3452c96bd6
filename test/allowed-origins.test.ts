import { describe, expect, it } from 'vitest';
import { originAllowed } from '../src/routes/ingest-helper';
import { originEntryProblem } from '../src/shared/workspaces';
import { archivedCount } from './archived';
import { call, createWorkspace, flush } from './helpers';

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
    const ids = await archivedCount(ws.id, (r) => r.id === 'o-evil' || r.id === 'o-evil-2');
    expect(ids).toBe(0);
    expect(await archivedCount(ws.id)).toBe(2);
  });

  it('lets every origin in while the list is empty', async () => {
    const ws = await createWorkspace('origins-open');
    const res = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, {
      rawBody: JSON.stringify({ type: 'pageview' }),
      headers: { 'content-type': 'text/plain', origin: 'https://anywhere.example' },
    });
    expect(res.status).toBe(202);
  });

  it('accepts only origins as entries; anything else is a 400 naming allowedOrigins.N, and nothing changes', async () => {
    const ws = await createWorkspace('origins-valid');
    const good = ['https://shop.example', 'http://localhost:3000', 'https://*.app.example', 'https://*.app.example:8443', 'http://127.0.0.1:8080', 'http://[::1]:5173', 'https://xn--bcher-kva.example', '*'];
    const ok = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { allowedOrigins: good } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.workspace.allowedOrigins).toEqual(good);
    const bad: Array<[string, RegExp]> = [
      ['https://shop.example/', /no trailing \//],
      ['https://shop.example/path', /without a path/],
      ['https://shop.example?x=1', /query/],
      ['https://shop.example#top', /fragment/],
      ['https://user:pw@shop.example', /user name or password/],
      ['https://Shop.Example', /as browsers send it in Origin: https:\/\/shop\.example$/],
      ['HTTPS://shop.example', /https:\/\/shop\.example$/],
      ['https://shop.example:443', /https:\/\/shop\.example$/],
      ['http://shop.example:80', /http:\/\/shop\.example$/],
      ['https://bücher.example', /https:\/\/xn--bcher-kva\.example$/],
      ['ftp://shop.example', /http:\/\/ or https:\/\//],
      ['javascript://shop.example', /http:\/\/ or https:\/\//],
      ['shop.example', /scheme:\/\/host/],
      ['//shop.example', /scheme:\/\/host/],
      ['null', /scheme:\/\/host/],
      ['https://', /valid host/],
      ['https://shop.example:99999', /valid host and port/],
      ['https://sh op.example', /valid host/],
      ['https://*', /\* may only stand first/],
      ['https://a.*.example', /\* may only stand first/],
      ['*.shop.example', /scheme:\/\/host/],
      [' https://shop.example', /scheme:\/\/host/],
    ];
    for (const [entry, message] of bad) {
      expect(originEntryProblem(entry), entry).toMatch(message);
      const res = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { name: 'changed', allowedOrigins: ['https://fine.example', entry] } });
      expect(res.status, entry).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.issues[0].path, entry).toBe('allowedOrigins.1');
      expect(res.json.error.message, entry).toMatch(/^allowedOrigins\.1: /);
    }
    const after = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin });
    expect(after.json.workspace.allowedOrigins).toEqual(good);
    expect(after.json.workspace.name).not.toBe('changed');
    // Every accepted entry is one a browser's Origin can equal or match.
    expect(good.filter((g) => g !== '*').map((g) => originAllowed(g.replace('*.', 'eu.'), [g]))).toEqual(good.slice(0, -1).map(() => true));
  });
});
