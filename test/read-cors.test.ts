import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createWorkspace, type TestWorkspace } from './helpers';

const PAGE = 'https://app.shop.example';
const OTHER = 'https://elsewhere.example';

async function withOrigins(prefix: string, allowedOrigins: string[]): Promise<TestWorkspace> {
  const ws = await createWorkspace(prefix);
  const patched = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { allowedOrigins } });
  expect(patched.status).toBe(200);
  return ws;
}

const liveToken = async (ws: TestWorkspace) =>
  (await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.read })).json.token as string;

/** Every kind of read a page makes: a report, the live snapshot (key and ?token=), SSE and the token itself. */
async function pageReads(ws: TestWorkspace, origin: string): Promise<Array<[string, Response]>> {
  const base = `http://edgepulse.test/api/v1/workspaces/${ws.slug}`;
  const bearer = { authorization: `Bearer ${ws.keys.read}`, origin };
  const token = await liveToken(ws);
  const out: Array<[string, Response]> = [
    ['summary', await SELF.fetch(`${base}/stats/summary`, { headers: bearer })],
    ['snapshot', await SELF.fetch(`${base}/live`, { headers: bearer })],
    ['snapshot ?token=', await SELF.fetch(`${base}/live?token=${token}`, { headers: { origin } })],
    ['room snapshot', await SELF.fetch(`${base}/rooms/standup/live?token=${token}`, { headers: { origin } })],
    ['sse', await SELF.fetch(`${base}/live?token=${token}`, { headers: { origin, accept: 'text/event-stream' } })],
    ['token', await SELF.fetch(`${base}/live/token`, { method: 'POST', headers: bearer })],
  ];
  return out;
}

const preflight = (path: string, origin: string, method = 'GET', headers = 'authorization') =>
  call('OPTIONS', path, { headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

function expectNoCors(res: { headers: Headers }, what: string) {
  expect(res.headers.get('access-control-allow-origin'), what).toBeNull();
  expect(res.headers.get('access-control-allow-credentials'), what).toBeNull();
}

describe('CORS for pages of allowedOrigins on the read and live routes', () => {
  it('answers a listed origin on reports, the live snapshot, SSE and live/token, never with Allow-Credentials', async () => {
    const ws = await withOrigins('rc-listed', [PAGE]);
    for (const [what, res] of await pageReads(ws, PAGE)) {
      expect(res.status, what).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), what).toBe(PAGE);
      expect(res.headers.get('vary')?.toLowerCase(), what).toContain('origin');
      expect(res.headers.get('access-control-expose-headers')?.toLowerCase(), what).toContain('retry-after');
      expect(res.headers.get('access-control-allow-credentials'), what).toBeNull();
      if (what === 'sse') {
        expect(res.headers.get('content-type')).toContain('text/event-stream');
        const reader = res.body!.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: connected');
        await reader.cancel();
      } else await res.body?.cancel();
    }
    // A refused token still reaches the page, so a client can tell "fetch a new token" from a network failure.
    const expired = await call('GET', `/api/v1/workspaces/${ws.slug}/live?token=not-a-token`, { headers: { origin: PAGE } });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('access-control-allow-origin')).toBe(PAGE);
  });

  it('answers preflights of listed origins with 204, the methods and headers a page sends, and a max age', async () => {
    const ws = await withOrigins('rc-pre', [PAGE]);
    for (const [path, method, headers] of [
      [`/api/v1/workspaces/${ws.slug}/stats/summary`, 'GET', 'authorization'],
      [`/api/v1/workspaces/${ws.slug}/live`, 'GET', 'authorization,last-event-id,accept'],
      [`/api/v1/workspaces/${ws.slug}/rooms/standup/live`, 'GET', 'authorization'],
      [`/api/v1/workspaces/${ws.slug}/live/token`, 'POST', 'authorization,content-type'],
    ]) {
      const res = await preflight(path, PAGE, method, headers);
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin'), path).toBe(PAGE);
      expect(res.headers.get('access-control-allow-methods'), path).toBe('GET,POST,OPTIONS');
      for (const h of ['authorization', 'content-type', 'accept', 'last-event-id']) {
        expect(res.headers.get('access-control-allow-headers')?.toLowerCase(), path).toContain(h);
      }
      expect(Number(res.headers.get('access-control-max-age')), path).toBeGreaterThan(0);
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    // Only what the route does: a page may not preflight erasing a user or posting to a report.
    expectNoCors(await preflight(`/api/v1/workspaces/${ws.slug}/users/u1`, PAGE, 'DELETE'), 'DELETE users');
    expectNoCors(await preflight(`/api/v1/workspaces/${ws.slug}/stats/summary`, PAGE, 'POST'), 'POST summary');
    expectNoCors(await preflight(`/api/v1/workspaces/${ws.slug}/keys`, PAGE, 'GET'), 'GET keys (admin)');
  });

  it('gives an origin not listed, and every origin of a workspace with no allowedOrigins, no CORS headers', async () => {
    const listed = await withOrigins('rc-unlisted', [PAGE]);
    const none = await createWorkspace('rc-none');
    for (const [ws, origin] of [[listed, OTHER], [none, PAGE]] as const) {
      for (const [what, res] of await pageReads(ws, origin)) {
        expect(res.status, what).toBe(200); // answered, but the browser keeps it from the page
        expectNoCors(res, `${ws.slug} ${origin} ${what}`);
        await res.body?.cancel();
      }
      const pre = await preflight(`/api/v1/workspaces/${ws.slug}/stats/summary`, origin);
      expectNoCors(pre, `${ws.slug} preflight`);
      expect(pre.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  it('matches a wildcard subdomain pattern like ingest does, scheme included', async () => {
    const ws = await withOrigins('rc-wild', ['https://*.shop.example']);
    const summary = (origin: string) => call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary`, { token: ws.keys.read, headers: { origin } });
    for (const origin of ['https://app.shop.example', 'https://eu.app.shop.example']) {
      expect((await summary(origin)).headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
    for (const origin of ['https://shop.example', 'http://app.shop.example', 'https://app.shop.example.evil', 'https://evilshop.example']) {
      expectNoCors(await summary(origin), origin);
    }
  });

  it('refuses WebSockets from origins not listed once the workspace lists some (browsers apply no CORS to them)', async () => {
    const ws = await withOrigins('rc-ws', [PAGE]);
    const none = await createWorkspace('rc-ws-none');
    const upgrade = async (w: TestWorkspace, origin: string) => {
      const res = await SELF.fetch(`http://edgepulse.test/api/v1/workspaces/${w.slug}/live?token=${await liveToken(w)}`, { headers: { upgrade: 'websocket', origin } });
      res.webSocket?.accept();
      res.webSocket?.close(1000, 'done');
      return res;
    };
    expect((await upgrade(ws, PAGE)).status).toBe(101);
    expect((await upgrade(ws, 'http://edgepulse.test')).status).toBe(101); // the dashboard's own origin
    const refused = await upgrade(ws, OTHER);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('allowedOrigins') });
    expect((await upgrade(none, OTHER)).status).toBe(101); // no list: tokens work from any page, as before
  });

  it('never lets a listed origin use the dashboard’s cookie', async () => {
    const ws = await withOrigins('rc-cookie', [PAGE]);
    const cookie = /ep_session=[^;]+/.exec((await call('POST', '/api/v1/session', { body: { key: ws.keys.read } })).headers.get('set-cookie') ?? '')![0];
    for (const path of ['/stats/summary', '/live']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}${path}`, { headers: { cookie, origin: PAGE } });
      expect(res.status, path).toBe(403);
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    const minted = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { headers: { cookie, origin: PAGE } });
    expect(minted.status).toBe(403);
  });

  it('lets a page read reports with a share link’s token (aggregates only), and shows it its 403s', async () => {
    const ws = await withOrigins('rc-share', [PAGE]);
    const created = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body: { name: 'embed' } });
    expect(created.status).toBe(201);
    const token = /\/s\/(sh_[A-Za-z0-9]+)$/.exec(created.json.url)![1];
    const ingest = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: [{ type: 'embed.view', userId: 'u-1' }] } });
    expect(ingest.status).toBe(202);
    const headers = { authorization: `Bearer ${token}`, origin: PAGE };
    for (const path of ['/stats/summary', '/stats/timeseries', '/stats/breakdown?by=type', '/live']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}${path}`, { headers });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), path).toBe(PAGE);
    }
    // What a share may not read is refused where the page can see why.
    for (const path of ['/events', '/users', '/stats/breakdown?by=userId']) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}${path}`, { headers });
      expect(res.status, path).toBe(403);
      expect(res.headers.get('access-control-allow-origin'), path).toBe(PAGE);
    }
    expectNoCors(await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary`, { headers: { ...headers, origin: OTHER } }), 'share token from an unlisted origin');
  });

  it('covers every GET under /workspaces/{ws} that a read key may use, and none that needs an admin key', async () => {
    const ws = await withOrigins('rc-all', [PAGE]);
    const doc = (await call('GET', '/api/v1/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    const paths = Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/workspaces/{ws}') && doc.paths[p].get);
    expect(paths.length).toBeGreaterThan(15);
    for (const path of paths) {
      const url = path.replace('{ws}', ws.slug).replace('{room}', 'standup').replace(/\{[^}]+\}/g, 'x1');
      const res = await SELF.fetch(`http://edgepulse.test${url}`, { headers: { authorization: `Bearer ${ws.keys.read}`, origin: PAGE } });
      await res.body?.cancel();
      const readable = res.status !== 403; // 200, or 400/404 for the made-up ids: the read key got through
      expect(res.headers.get('access-control-allow-origin'), `${path} (${res.status})`).toBe(readable ? PAGE : null);
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
  });
});
