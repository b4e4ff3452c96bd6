import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { LIVE_KEY_HEADER } from '../src/live/fanout';
import { WORKSPACE_HEADER } from '../src/live/workspace-hub';
import { call, createWorkspace, hub, makeEvents, type TestWorkspace } from './helpers';

/** The part of a WorkspaceHub's private state the room test waits on. */
interface Watching {
  live: { watchedRooms: Set<string> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newKey(ws: TestWorkspace, kind: 'read' | 'admin') {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind, name: `${kind} for revocation` } });
  expect(res.status).toBe(201);
  return { id: res.json.key.id as string, secret: res.json.secret as string };
}

async function mintToken(ws: TestWorkspace, opts: { token?: string; headers?: Record<string, string> }): Promise<string> {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, opts);
  expect(res.status).toBe(200);
  return res.json.token;
}

async function revoke(ws: TestWorkspace, keyId: string) {
  expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/${keyId}`, { token: ws.keys.admin })).status).toBe(204);
}

async function openSocket(path: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(`http://edgepulse.test${path}`, { headers: { upgrade: 'websocket', ...headers } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const messages: Array<{ type: string }> = [];
  const closed: { code?: number; reason?: string } = {};
  ws.accept();
  ws.addEventListener('message', (e) => {
    messages.push(JSON.parse(e.data as string));
  });
  ws.addEventListener('close', (e) => {
    Object.assign(closed, { code: e.code, reason: e.reason });
    ws.close(); // completes the close handshake, as a browser does
  });
  return { ws, messages, closed };
}

async function openSse(path: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(`http://edgepulse.test${path}`, { headers: { accept: 'text/event-stream', ...headers } });
  expect(res.status).toBe(200);
  const stream = { text: '', ended: false };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stream.text += value;
    }
    stream.ended = true;
  })();
  return { stream, cancel: () => reader.cancel().catch(() => {}) };
}

/** Polls until `check` holds (hub calls finish asynchronously); fails after 2 s. */
async function until(check: () => boolean | Promise<boolean>, what: string) {
  for (let i = 0; i < 40; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('revoking a key ends its live access', () => {
  it('refuses the live tokens the key minted (401) at once in this isolate; tokens of other keys and of the root token keep working', async () => {
    const ws = await createWorkspace('rvtok');
    const revoked = await newKey(ws, 'read');
    const byRevoked = await mintToken(ws, { token: revoked.secret });
    const session = (await call('POST', '/api/v1/session', { body: { key: revoked.secret } })).headers.get('set-cookie')!.split(';')[0];
    const bySession = await mintToken(ws, { headers: { cookie: session } });
    const byOther = await mintToken(ws, { token: ws.keys.read });
    const byAdmin = await mintToken(ws, { token: ws.keys.admin });
    const byRoot = await mintToken(ws, { token: env.ADMIN_TOKEN });
    const live = (token: string, room = '') => call('GET', `/api/v1/workspaces/${ws.slug}${room && `/rooms/${room}`}/live?token=${token}`);
    for (const token of [byRevoked, bySession, byOther, byAdmin, byRoot]) expect((await live(token)).status).toBe(200);

    await revoke(ws, revoked.id);
    for (const token of [byRevoked, bySession]) {
      const res = await live(token);
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
      expect((await live(token, 'lobby')).status).toBe(401);
      expect((await SELF.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/live?token=${token}`, { headers: { upgrade: 'websocket' } })).status).toBe(401);
    }
    for (const token of [byOther, byAdmin, byRoot]) {
      expect((await live(token)).status).toBe(200);
      expect((await live(token, 'lobby')).status).toBe(200);
    }
  });

  it('refuses a live token that names no key (minted before tokens were revocable)', async () => {
    const ws = await createWorkspace('rvtok');
    const token = await new SignJWT({ ws: ws.id })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('edgepulse-live')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(env.SESSION_SECRET));
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/live?token=${token}`)).status).toBe(401);
  });

  it('closes the workspace WebSockets (4401 "key revoked") and SSE streams the key opened, by bearer key or by its token; others stay open', async () => {
    const ws = await createWorkspace('rvws');
    const revoked = await newKey(ws, 'read');
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const token = await mintToken(ws, { token: revoked.secret });
    const goneWs = await openSocket(path, { authorization: `Bearer ${revoked.secret}` });
    const goneTokenWs = await openSocket(`${path}?token=${token}`);
    const goneSse = await openSse(path, { authorization: `Bearer ${revoked.secret}` });
    const keptWs = await openSocket(path, { authorization: `Bearer ${ws.keys.read}` });
    const keptRootWs = await openSocket(path, { authorization: `Bearer ${env.ADMIN_TOKEN}` });
    const keptSse = await openSse(path, { authorization: `Bearer ${ws.keys.admin}` });
    await until(() => goneSse.stream.text.includes('event: stats') && keptSse.stream.text.includes('event: stats'), 'both SSE streams to start');

    await revoke(ws, revoked.id);
    await until(() => goneWs.closed.code !== undefined && goneTokenWs.closed.code !== undefined && goneSse.stream.ended, 'the revoked key’s connections to close');
    expect(goneWs.closed).toEqual({ code: 4401, reason: 'key revoked' });
    expect(goneTokenWs.closed).toEqual({ code: 4401, reason: 'key revoked' });
    expect(goneSse.stream.text).toMatch(/: key revoked\n\n$/);

    // The others still get pushes.
    const before = keptWs.messages.length;
    expect((await call('POST', `${path.replace('/live', '/events')}`, { token: ws.keys.ingest, body: { events: makeEvents(3, 'after-revoke') } })).status).toBe(202);
    await until(() => keptWs.messages.slice(before).some((m) => m.type === 'events') && keptSse.stream.text.includes('after-revoke-2'), 'events on the kept connections');
    keptRootWs.ws.send('{"type":"ping"}');
    await until(() => keptRootWs.messages.some((m) => m.type === 'pong'), 'a pong on the root socket');
    expect([keptWs.closed.code, keptRootWs.closed.code, keptSse.stream.ended]).toEqual([undefined, undefined, false]);
    expect((await call('DELETE', path, { token: ws.keys.admin })).json).toEqual({ closed: 3 });
    await keptSse.cancel();
  });

  it('the hub refuses a revoked key’s reconnect that another isolate’s key cache still lets through', async () => {
    const ws = await createWorkspace('rvws');
    const revoked = await newKey(ws, 'read');
    await revoke(ws, revoked.id);
    const headers = { upgrade: 'websocket', [WORKSPACE_HEADER]: JSON.stringify({ id: ws.id, slug: ws.slug, timezone: 'UTC' }) };
    const refused = await hub(ws.id).fetch(new Request('http://hub/live', { headers: { ...headers, [LIVE_KEY_HEADER]: revoked.id } }));
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error.code).toBe('unauthorized');
    const other = await hub(ws.id).fetch(new Request('http://hub/live', { headers: { ...headers, [LIVE_KEY_HEADER]: 'key_other' } }));
    expect(other.status).toBe(101);
    other.webSocket!.accept();
    other.webSocket!.close(1000, 'done');
  });

  it('ignores a key header sent by the client: the connection belongs to the key that authenticated it', async () => {
    const ws = await createWorkspace('rvws');
    const revoked = await newKey(ws, 'read');
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const spoofed = await openSocket(path, { authorization: `Bearer ${ws.keys.read}`, [LIVE_KEY_HEADER]: revoked.id });
    await revoke(ws, revoked.id);
    await sleep(100);
    expect(spoofed.closed.code).toBeUndefined();
    spoofed.ws.close(1000, 'done');
  });

  it('closes the room WebSockets and SSE streams the key opened, in every watched room; others stay open', async () => {
    const ws = await createWorkspace('rvroom');
    const revoked = await newKey(ws, 'admin');
    const room = (name: string) => `/api/v1/workspaces/${ws.slug}/rooms/${name}/live`;
    const goneWs = await openSocket(room('standup'), { authorization: `Bearer ${revoked.secret}` });
    const goneSse = await openSse(room('retro'), { authorization: `Bearer ${revoked.secret}` });
    const keptWs = await openSocket(room('standup'), { authorization: `Bearer ${ws.keys.read}` });
    const keptSse = await openSse(room('retro'), { authorization: `Bearer ${ws.keys.read}` });
    // A room hub tells the workspace hub it has subscribers in the background.
    await until(
      () => runInDurableObject(hub(ws.id), (instance) => ['standup', 'retro'].every((r) => (instance as unknown as Watching).live.watchedRooms.has(r))),
      'the rooms to be watched',
    );
    await until(() => goneSse.stream.text.includes('event: stats'), 'the SSE stream to start');

    await revoke(ws, revoked.id);
    await until(() => goneWs.closed.code !== undefined && goneSse.stream.ended, 'the revoked key’s room connections to close');
    expect(goneWs.closed).toEqual({ code: 4401, reason: 'key revoked' });
    expect((await call('GET', room('standup'), { token: revoked.secret })).status).toBe(401);

    keptWs.ws.send('{"type":"ping"}');
    await until(() => keptWs.messages.some((m) => m.type === 'pong'), 'a pong in the room');
    expect([keptWs.closed.code, keptSse.stream.ended]).toEqual([undefined, false]);
    // DELETE …/live closes the rest, though this hub never heard of its workspace but from its rooms.
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.admin })).json).toEqual({ closed: 2 });
    await until(() => keptWs.closed.code !== undefined && keptSse.stream.ended, 'DELETE …/live to close the room connections');
  });
});
