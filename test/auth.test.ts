import { beforeAll, describe, expect, it } from 'vitest';
import { call, countRows, createWorkspace, flush, ROOT, type TestWorkspace } from './helpers';
import { digestsEqual } from '../src/auth/secrets';

/** The eight credentials of issue 2's auth table. */
const CREDENTIALS = ['none', 'wrong', 'ingest', 'read', 'admin', 'root', 'otherAdmin', 'revoked'] as const;
type Credential = (typeof CREDENTIALS)[number];

/** The workspace a case runs against, with a revoked admin key of its own. */
interface Target {
  ws: TestWorkspace;
  revoked: string;
}

interface RouteCase {
  name: string;
  /** Statuses for a credential that may use the route; everything else is 401 or 403. */
  ok: number;
  who: Array<'ingest' | 'read' | 'admin' | 'root' | 'otherAdmin'>;
  /** Routes that destroy their target run against a fresh workspace per case. */
  fresh?: boolean;
  request: (t: Target) => Promise<{ method: string; path: string; body?: unknown; query?: string }>;
}

let seq = 0;
const ev = () => ({ id: `auth-${Date.now().toString(36)}-${seq++}`, type: 'auth.test' });

const ROUTES: RouteCase[] = [
  { name: 'POST /workspaces', ok: 201, who: ['root'], request: async () => ({ method: 'POST', path: '/api/v1/workspaces', body: { slug: `auth-new-${Date.now().toString(36)}-${seq++}` } }) },
  { name: 'GET /workspaces', ok: 200, who: ['root'], request: async () => ({ method: 'GET', path: '/api/v1/workspaces' }) },
  { name: 'GET /workspaces/{ws}', ok: 200, who: ['read', 'admin', 'root'], request: async ({ ws }) => ({ method: 'GET', path: `/api/v1/workspaces/${ws.slug}` }) },
  { name: 'PATCH /workspaces/{ws}', ok: 200, who: ['admin', 'root'], request: async ({ ws }) => ({ method: 'PATCH', path: `/api/v1/workspaces/${ws.slug}`, body: { name: `renamed ${seq++}` } }) },
  { name: 'DELETE /workspaces/{ws}', ok: 204, who: ['root'], fresh: true, request: async ({ ws }) => ({ method: 'DELETE', path: `/api/v1/workspaces/${ws.slug}` }) },
  { name: 'POST /workspaces/{ws}/keys', ok: 201, who: ['admin', 'root'], request: async ({ ws }) => ({ method: 'POST', path: `/api/v1/workspaces/${ws.slug}/keys`, body: { kind: 'read', name: 'auth table' } }) },
  { name: 'GET /workspaces/{ws}/keys', ok: 200, who: ['admin', 'root'], request: async ({ ws }) => ({ method: 'GET', path: `/api/v1/workspaces/${ws.slug}/keys` }) },
  {
    name: 'DELETE /workspaces/{ws}/keys/{id}', ok: 204, who: ['admin', 'root'],
    request: async ({ ws }) => {
      // A key made for this case only, so that revoking it leaves the table's credentials intact.
      const made = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ROOT(), body: { kind: 'ingest' } });
      return { method: 'DELETE', path: `/api/v1/workspaces/${ws.slug}/keys/${made.json.key.id}` };
    },
  },
  { name: 'POST /workspaces/{ws}/events', ok: 202, who: ['ingest', 'admin', 'root'], request: async ({ ws }) => ({ method: 'POST', path: `/api/v1/workspaces/${ws.slug}/events`, body: ev() }) },
  { name: 'GET /workspaces/{ws}/events', ok: 200, who: ['read', 'admin', 'root'], request: async ({ ws }) => ({ method: 'GET', path: `/api/v1/workspaces/${ws.slug}/events` }) },
  // The collector has no workspace in its path: the key names it. Only ingest keys belong in web
  // pages and beacon URLs, so read and admin keys (of any workspace) and the root token get 403.
  { name: 'POST /collect?key=', ok: 202, who: ['ingest'], request: async () => ({ method: 'POST', path: '/api/v1/collect', query: 'key', body: ev() }) },
  // Reports, export, metrics and live: read access (read or admin key, root).
  ...['stats/summary', 'stats/timeseries', 'stats/breakdown?by=type', 'users', 'sessions', 'rooms', 'export?format=ndjson', 'metrics', 'live', 'rooms/r1/live'].map(
    (rest): RouteCase => ({ name: `GET /workspaces/{ws}/${rest}`, ok: 200, who: ['read', 'admin', 'root'], request: async ({ ws }) => ({ method: 'GET', path: `/api/v1/workspaces/${ws.slug}/${rest}` }) }),
  ),
  {
    name: 'GET /workspaces/{ws}/users/{userId}', ok: 200, who: ['read', 'admin', 'root'],
    request: async ({ ws }) => {
      await knownUser(ws);
      return { method: 'GET', path: `/api/v1/workspaces/${ws.slug}/users/auth-user` };
    },
  },
  { name: 'POST /workspaces/{ws}/live/token', ok: 200, who: ['read', 'admin', 'root'], request: async ({ ws }) => ({ method: 'POST', path: `/api/v1/workspaces/${ws.slug}/live/token` }) },
  { name: 'DELETE /workspaces/{ws}/live', ok: 200, who: ['admin', 'root'], request: async ({ ws }) => ({ method: 'DELETE', path: `/api/v1/workspaces/${ws.slug}/live` }) },
];

/** A user with history in the workspace, made once per workspace. */
const withUser = new Set<string>();
async function knownUser(ws: TestWorkspace): Promise<void> {
  if (withUser.has(ws.id)) return;
  const sent = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { ...ev(), userId: 'auth-user' } });
  expect(sent.status).toBe(202);
  await flush(ws);
  withUser.add(ws.id);
}

/** The status and code every (route, credential) pair must answer with. */
function expected(route: RouteCase, cred: Credential): { status: number; code?: string } {
  if (cred === 'none' || cred === 'wrong' || cred === 'revoked') return { status: 401, code: 'unauthorized' };
  if ((route.who as string[]).includes(cred)) return { status: route.ok };
  return { status: 403, code: 'forbidden' };
}

const CASES = ROUTES.flatMap((route) => CREDENTIALS.map((cred) => ({ route, cred, ...expected(route, cred) })));

describe('auth table: every workspace, key, event, report, live and export route × every credential', () => {
  let main: Target;
  let other: TestWorkspace;

  async function target(): Promise<Target> {
    const ws = await createWorkspace('auth');
    const made = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: 'admin', name: 'to revoke' } });
    expect(made.status).toBe(201);
    const del = await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/${made.json.key.id}`, { token: ws.keys.admin });
    expect(del.status).toBe(204);
    return { ws, revoked: made.json.secret };
  }

  beforeAll(async () => {
    main = await target();
    other = await createWorkspace('auth-other');
  });

  function secretFor(cred: Credential, t: Target): string | undefined {
    switch (cred) {
      case 'none': return undefined;
      // Well-formed, so it is looked up in D1 and not refused on its shape alone.
      case 'wrong': return `sk_${'A1b2C3d4'.repeat(4)}`;
      case 'ingest': return t.ws.keys.ingest;
      case 'read': return t.ws.keys.read;
      case 'admin': return t.ws.keys.admin;
      case 'root': return ROOT();
      case 'otherAdmin': return other.keys.admin;
      case 'revoked': return t.revoked;
    }
  }

  it.each(CASES.map((c) => [c.route.name, c.cred, c.status, c.code ?? '-', c] as const))(
    '%s with %s credential → %i %s',
    async (_name, cred, status, code, { route }) => {
      const t = route.fresh ? await target() : main;
      const req = await route.request(t);
      const secret = secretFor(cred, t);
      let path = req.path;
      let token: string | undefined = secret;
      if (req.query && secret) {
        path += `?${req.query}=${encodeURIComponent(secret)}`;
        token = undefined;
      }
      const res = await call(req.method, path, { token, body: req.body });
      expect(res.status, res.text).toBe(status);
      if (code !== '-') {
        expect(res.json?.error?.code).toBe(code);
        expect(typeof res.json?.error?.message).toBe('string');
      }
      if (route.fresh && status !== 204) {
        // A refused delete left the workspace in place.
        expect(await countRows('SELECT count(*) AS n FROM workspaces WHERE id = ?', t.ws.id)).toBe(1);
      }
    },
  );

  it('answers 403, never data, when a key is used on another workspace’s path', async () => {
    for (const kind of ['ingest', 'read', 'admin'] as const) {
      const res = await call('GET', `/api/v1/workspaces/${main.ws.slug}/events`, { token: other.keys[kind] });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
      expect(res.json.events).toBeUndefined();
    }
  });

  it('takes the collector’s key from the query, the body or an Authorization header', async () => {
    const { ws } = main;
    const byBody = await call('POST', '/api/v1/collect', { body: { ...ev(), key: ws.keys.ingest } });
    expect(byBody.status, byBody.text).toBe(202);
    const byHeader = await call('POST', '/api/v1/collect', { token: ws.keys.ingest, body: ev() });
    expect(byHeader.status, byHeader.text).toBe(202);
    const beacon = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, { rawBody: JSON.stringify(ev()), headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    expect(beacon.status, beacon.text).toBe(202);
  });

  it('checks the credential before the input: a bad body tells a stranger nothing', async () => {
    const { ws } = main;
    const cases: Array<[string, string, unknown, string | undefined, number]> = [
      ['POST', '/api/v1/workspaces', { slug: 'BAD SLUG' }, undefined, 401],
      ['POST', '/api/v1/workspaces', { slug: 'BAD SLUG' }, ws.keys.admin, 403],
      ['PATCH', `/api/v1/workspaces/${ws.slug}`, { timezone: 'Nowhere/Land' }, ws.keys.read, 403],
      ['POST', `/api/v1/workspaces/${ws.slug}/keys`, { kind: 'god' }, undefined, 401],
      ['POST', `/api/v1/workspaces/${ws.slug}/events`, { type: '' }, ws.keys.read, 403],
      ['GET', `/api/v1/workspaces/${ws.slug}/events?limit=0`, undefined, other.keys.read, 403],
    ];
    for (const [method, path, body, token, status] of cases) {
      const res = await call(method, path, { token, body });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.json.error.issues).toBeUndefined();
    }
  });

  it('refuses malformed Authorization headers with 401', async () => {
    for (const authorization of ['Basic Zm9vOmJhcg==', 'Bearer', 'Bearer ', `Token ${main.ws.keys.read}`, 'pk_short']) {
      const res = await call('GET', `/api/v1/workspaces/${main.ws.slug}`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
    }
  });
});

describe('digestsEqual', () => {
  it('tells equal digests from different ones of the same or another length', () => {
    const a = 'a'.repeat(63) + 'b';
    expect(digestsEqual(a, a.slice())).toBe(true);
    expect(digestsEqual(a, 'a'.repeat(64))).toBe(false);
    expect(digestsEqual(a, a.slice(0, 63))).toBe(false);
    expect(digestsEqual('', '')).toBe(true);
  });
});
