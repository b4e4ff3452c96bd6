import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, createWorkspace } from './helpers';

// The Worker in these tests answers at http://edgepulse.test: that is the dashboard's own origin.
const OWN = 'http://edgepulse.test';
// Same site as far as a browser's SameSite=Strict cookie goes, so the cookie is sent from them.
const FOREIGN = ['http://edgepulse.test:8080', 'https://edgepulse.test', 'http://evil.edgepulse.test', 'null'];

const cookieOf = (headers: Headers) => /ep_session=[^;]+/.exec(headers.get('set-cookie') ?? '')?.[0];

async function upgrade(path: string, headers: Record<string, string>) {
  return SELF.fetch(`${OWN}${path}`, { headers: { upgrade: 'websocket', ...headers } });
}

async function firstMessage(res: Response): Promise<{ type: string; data: any }> {
  const socket = res.webSocket!;
  socket.accept();
  const msg = await new Promise<string>((resolve) => socket.addEventListener('message', (e) => resolve(e.data as string), { once: true }));
  socket.close(1000, 'done');
  return JSON.parse(msg);
}

describe('a cookie-authenticated live request is accepted only from the dashboard’s own origin', () => {
  it('refuses WebSocket, SSE, JSON and token minting with the cookie from another origin of the same site, with 403 forbidden', async () => {
    const ws = await createWorkspace('xo');
    const cookie = cookieOf((await call('POST', '/api/v1/session', { body: { key: ws.keys.read } })).headers)!;
    for (const origin of FOREIGN) {
      for (const path of [`/api/v1/workspaces/${ws.slug}/live`, `/api/v1/workspaces/${ws.slug}/rooms/standup/live`]) {
        const sock = await upgrade(path, { cookie, origin });
        expect(sock.status, `${origin} ${path}`).toBe(403);
        expect(sock.webSocket).toBeNull();
        const body = (await sock.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('forbidden');
        expect(body.error.message).toContain(`own origin ${OWN}, not from ${origin}`);
        const sse = await SELF.fetch(`${OWN}${path}`, { headers: { accept: 'text/event-stream', cookie, origin } });
        expect(sse.status, `${origin} ${path} sse`).toBe(403);
        expect(sse.headers.get('content-type')).toContain('application/json');
        await sse.body?.cancel();
        const snap = await call('GET', path, { headers: { cookie, origin } });
        expect(snap.status, `${origin} ${path} json`).toBe(403);
      }
      const minted = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { headers: { cookie, origin } });
      expect(minted.status, origin).toBe(403);
      expect(minted.json.token).toBeUndefined();
    }
  });

  it('still serves the dashboard’s own origin, and clients that send no Origin (not a page)', async () => {
    const ws = await createWorkspace('xo');
    const cookie = cookieOf((await call('POST', '/api/v1/session', { body: { key: ws.keys.read } })).headers)!;
    for (const headers of [{ cookie, origin: OWN }, { cookie }] as Array<Record<string, string>>) {
      const sock = await upgrade(`/api/v1/workspaces/${ws.slug}/live`, headers);
      expect(sock.status).toBe(101);
      expect(await firstMessage(sock)).toMatchObject({ type: 'connected', data: { workspace: ws.slug } });
      const minted = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { headers });
      expect(minted.status).toBe(200);
      expect((await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { headers })).status).toBe(200);
    }
  });

  it('leaves bearer keys and ?token= alone, even when the page’s request carries the cookie too', async () => {
    const ws = await createWorkspace('xo');
    const cookie = cookieOf((await call('POST', '/api/v1/session', { body: { key: ws.keys.read } })).headers)!;
    const token = (await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.read })).json.token as string;
    const origin = 'http://edgepulse.test:3000';
    const withToken = await upgrade(`/api/v1/workspaces/${ws.slug}/live?token=${token}`, { cookie, origin });
    expect(withToken.status).toBe(101);
    expect((await firstMessage(withToken)).type).toBe('connected');
    const withKey = await upgrade(`/api/v1/workspaces/${ws.slug}/live`, { cookie, origin, authorization: `Bearer ${ws.keys.read}` });
    expect(withKey.status).toBe(101);
    expect((await firstMessage(withKey)).type).toBe('connected');
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.read, headers: { origin } })).status).toBe(200);
  });

  it('a page of another origin can neither sign the dashboard out nor use the cookie elsewhere', async () => {
    const ws = await createWorkspace('xo');
    const cookie = cookieOf((await call('POST', '/api/v1/session', { body: { key: ws.keys.admin } })).headers)!;
    const origin = 'http://edgepulse.test:3000';
    expect((await call('DELETE', '/api/v1/session', { headers: { cookie, origin } })).status).toBe(403);
    expect((await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { headers: { cookie, origin }, body: { name: 'pwned' } })).status).toBe(403);
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}`, { headers: { cookie } })).json.workspace.name).not.toBe('pwned');
    expect((await call('GET', '/api/v1/session', { headers: { cookie, origin: OWN } })).status).toBe(200);
  });
});
