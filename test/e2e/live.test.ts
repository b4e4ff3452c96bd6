import { EventSource } from 'eventsource';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createWorkspace, startDevServer, type DevServer } from './server';

let server: DevServer;
let A: Awaited<ReturnType<typeof createWorkspace>>;
let B: Awaited<ReturnType<typeof createWorkspace>>;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  server = await startDevServer();
  A = await createWorkspace(server, 'live-a');
  B = await createWorkspace(server, 'live-b');
});
afterAll(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

interface Sub {
  messages: Array<{ type: string; data: any }>;
  /** Resolves with the time an `events` message holding `id` arrived. */
  seen(id: string, ms?: number): Promise<number | null>;
  close(): void;
}

function track(messages: Sub['messages']): Pick<Sub, 'seen'> & { push(m: Sub['messages'][number]): void } {
  const waiters: Array<{ id: string; resolve: (t: number) => void }> = [];
  return {
    push(m) {
      messages.push(m);
      if (m.type !== 'events') return;
      for (const w of [...waiters]) if (m.data.some((e: { id: string }) => e.id === w.id)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(Date.now());
      }
    },
    seen(id, ms = 1000) {
      if (messages.some((m) => m.type === 'events' && m.data.some((e: { id: string }) => e.id === id))) return Promise.resolve(Date.now());
      return new Promise((resolve) => {
        const w = { id, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            resolve(null);
          }
        }, ms);
      });
    },
  };
}

const liveUrl = (ws: string, room?: string) => `${server.url.replace('http', 'ws')}/api/v1/workspaces/${ws}${room ? `/rooms/${room}` : ''}/live`;

async function wsSub(ws: string, opts: { key?: string; token?: string; room?: string } = {}): Promise<Sub & { socket: WebSocket; closed: Promise<number> }> {
  const url = liveUrl(ws, opts.room) + (opts.token ? `?token=${encodeURIComponent(opts.token)}` : '');
  const socket = new WebSocket(url, { headers: opts.key ? { authorization: `Bearer ${opts.key}` } : {} });
  const messages: Sub['messages'] = [];
  const t = track(messages);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      t.push(m);
      if (m.type === 'connected') resolve();
    });
    socket.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.on('error', reject);
  });
  const sub = { socket, closed, messages, seen: t.seen, close: () => socket.close() };
  open.push(sub);
  return sub;
}

async function sseSub(ws: string, key: string, room?: string): Promise<Sub & { source: EventSource }> {
  const url = `${server.url}/api/v1/workspaces/${ws}${room ? `/rooms/${room}` : ''}/live`;
  const source = new EventSource(url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${key}` } }) });
  const messages: Sub['messages'] = [];
  const t = track(messages);
  await new Promise<void>((resolve, reject) => {
    for (const type of ['connected', 'stats', 'events', 'ping']) {
      source.addEventListener(type, (e) => {
        t.push({ type, data: JSON.parse((e as MessageEvent).data) });
        if (type === 'connected') resolve();
      });
    }
    source.onerror = (e) => reject(new Error(`SSE error ${String((e as { code?: number }).code)}`));
  });
  const sub = { source, messages, seen: t.seen, close: () => source.close() };
  open.push(sub);
  return sub;
}

async function post(ws: string, key: string, event: Record<string, unknown>): Promise<number> {
  const started = Date.now();
  const res = await fetch(`${server.url}/api/v1/workspaces/${ws}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  expect(res.status).toBe(202);
  return started;
}

async function liveToken(ws: string, key: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/workspaces/${ws}/live/token`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token: string; expiresAt: string };
  const ttl = Date.parse(body.expiresAt) - Date.now();
  expect(ttl).toBeGreaterThan(4 * 60_000);
  expect(ttl).toBeLessThanOrEqual(5 * 60_000);
  return body.token;
}

async function refused(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const s = new WebSocket(url, { headers });
    s.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      s.terminate();
    });
    s.on('open', () => {
      resolve(101);
      s.close();
    });
    s.on('error', () => {});
  });
}

describe('live over wrangler dev', () => {
  it('pushes an event to WebSocket and SSE subscribers of its workspace (and its room) within 1 s, never to others', async () => {
    const token = await liveToken('live-a', A.keys.read);
    const [wsA, sseA, roomR1, roomR1Sse, wsB] = await Promise.all([
      wsSub('live-a', { key: A.keys.read }),
      sseSub('live-a', A.keys.admin),
      wsSub('live-a', { token, room: 'r1' }),
      sseSub('live-a', A.keys.read, 'r1'),
      wsSub('live-b', { key: B.keys.read }),
    ]);
    expect(wsA.messages[0]).toMatchObject({ type: 'connected', data: { workspace: 'live-a' } });
    expect(roomR1.messages[0]).toMatchObject({ type: 'connected', data: { workspace: 'live-a', room: 'r1' } });
    expect(sseA.messages[1].type).toBe('stats');

    const started = await post('live-a', A.keys.ingest, { id: 'in-r1', type: 'message.sent', userId: 'u1', room: 'r1' });
    const times = await Promise.all([wsA.seen('in-r1'), sseA.seen('in-r1'), roomR1.seen('in-r1'), roomR1Sse.seen('in-r1')]);
    for (const t of times) {
      expect(t).not.toBeNull();
      expect(t! - started).toBeLessThan(1000);
    }
    await post('live-a', A.keys.ingest, { id: 'in-r2', type: 'message.sent', userId: 'u2', room: 'r2' });
    expect(await wsA.seen('in-r2')).not.toBeNull();
    expect(await sseA.seen('in-r2')).not.toBeNull();
    // The room's subscribers see only their room's events; workspace B's see nothing of A.
    expect(await roomR1.seen('in-r2', 500)).toBeNull();
    expect(await roomR1Sse.seen('in-r2', 10)).toBeNull();
    expect(await wsB.seen('in-r1', 10)).toBeNull();
    expect(wsB.messages.some((m) => m.type === 'events')).toBe(false);

    // Stats follow: the workspace's counts both events; the room's only its own, with presence.
    await new Promise((r) => setTimeout(r, 400));
    const lastStats = (s: Sub) => [...s.messages].reverse().find((m) => m.type === 'stats')!.data;
    expect(lastStats(wsA)).toMatchObject({ eventsToday: 2, onlineUsers: 2, connections: 2 });
    expect(lastStats(roomR1)).toMatchObject({ room: 'r1', eventsToday: 1, connections: 2 });
    expect(lastStats(wsB)).toMatchObject({ eventsToday: 0 });

    // A ping is answered by the hub without waking it.
    const pong = new Promise((resolve) => wsA.socket.once('message', (raw) => resolve(JSON.parse(String(raw)))));
    wsA.socket.send('{"type":"ping"}');
    expect(await pong).toEqual({ type: 'pong' });

    // The JSON snapshot mode.
    const snap = await fetch(`${server.url}/api/v1/workspaces/live-a/live`, { headers: { authorization: `Bearer ${A.keys.read}` } });
    expect(snap.status).toBe(200);
    const body = (await snap.json()) as { data: any; meta: any };
    expect(body.meta).toMatchObject({ workspace: 'live-a', connections: 2 });
    expect(body.data.eventsToday).toBe(2);
    expect(body.data.rooms.map((r: { room: string }) => r.room).sort()).toEqual(['r1', 'r2']);
    for (const s of [wsA, sseA, roomR1, roomR1Sse, wsB]) s.close();
  });

  it('delivers one event to 200 concurrent subscribers', async () => {
    // A key holds at most LIMITS.liveConnectionsPerKey (100) live connections: 200 subscribers use four read keys.
    const keys = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const res = await fetch(`${server.url}/api/v1/workspaces/live-b/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${B.keys.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'read', name: `fan-out ${i}` }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { secret: string }).secret;
    }));
    const subs = await Promise.all(Array.from({ length: 200 }, (_, i) => wsSub('live-b', { key: keys[i % keys.length] })));
    const started = await post('live-b', B.keys.ingest, { id: 'fan-200', type: 'broadcast' });
    const times = await Promise.all(subs.map((s) => s.seen('fan-200', 3000)));
    expect(times.filter((t) => t === null)).toHaveLength(0);
    expect(Math.max(...times.map((t) => t! - started))).toBeLessThan(1000);
    for (const s of subs) s.close();
  });

  it('refuses a missing, wrong or expired credential before the upgrade', async () => {
    const url = liveUrl('live-a');
    expect(await refused(url)).toBe(401);
    expect(await refused(`${url}?token=not-a-token`)).toBe(401);
    const secret = new TextEncoder().encode(`e2e-session-${server.port}`);
    const expired = await new SignJWT({ ws: 'whatever' }).setProtectedHeader({ alg: 'HS256' }).setAudience('edgepulse-live').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(secret);
    expect(await refused(`${url}?token=${expired}`)).toBe(401);
    const forged = await new SignJWT({ ws: 'x' }).setProtectedHeader({ alg: 'HS256' }).setAudience('edgepulse-live').setExpirationTime('5m').sign(new TextEncoder().encode('wrong-secret'));
    expect(await refused(`${url}?token=${forged}`)).toBe(401);
    expect(await refused(url, { authorization: 'Bearer rk_wrongwrongwrongwrong' })).toBe(401);
    // Another workspace's key or token, and an ingest key, are forbidden.
    expect(await refused(url, { authorization: `Bearer ${B.keys.read}` })).toBe(403);
    expect(await refused(url, { authorization: `Bearer ${A.keys.ingest}` })).toBe(403);
    const tokenB = await liveToken('live-b', B.keys.admin);
    expect(await refused(`${url}?token=${tokenB}`)).toBe(403);
    // A valid token works.
    expect(await refused(`${url}?token=${await liveToken('live-a', A.keys.read)}`)).toBe(101);
  });

  it('DELETE …/live (admin) closes every connection of the workspace and its rooms', async () => {
    const subs = await Promise.all([
      ...Array.from({ length: 5 }, () => wsSub('live-a', { key: A.keys.read })),
      ...Array.from({ length: 3 }, () => wsSub('live-a', { key: A.keys.read, room: 'r9' })),
    ]);
    const sse = await sseSub('live-a', A.keys.read);
    const other = await wsSub('live-b', { key: B.keys.read });
    const del = (key: string) => fetch(`${server.url}/api/v1/workspaces/live-a/live`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect((await del(A.keys.read)).status).toBe(403);
    const res = await del(A.keys.admin);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { closed: number }).closed).toBeGreaterThanOrEqual(9);
    // The hub sends each a close frame (4000); through wrangler dev the TCP close may lag, so the client is CLOSING or CLOSED.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && subs.some((s) => s.socket.readyState === WebSocket.OPEN)) await new Promise((r) => setTimeout(r, 50));
    expect(subs.map((s) => s.socket.readyState >= WebSocket.CLOSING)).toEqual(subs.map(() => true));
    await new Promise((r) => setTimeout(r, 200));
    expect(sse.source.readyState).not.toBe(EventSource.OPEN);
    await post('live-a', A.keys.ingest, { id: 'after-close', type: 'x' });
    expect(await sse.seen('after-close', 500)).toBeNull();
    expect(other.socket.readyState).toBe(WebSocket.OPEN);
    other.close();
  });
});

describe('live numbers across a crash', () => {
  it('continues after SIGKILL of wrangler dev: the snapshot equals the one before', async () => {
    const snapshot = async () => {
      const res = await fetch(`${server.url}/api/v1/workspaces/live-a/live`, { headers: { authorization: `Bearer ${A.keys.read}` } });
      expect(res.status).toBe(200);
      const { data } = (await res.json()) as { data: Record<string, unknown> };
      const { eventsToday, eventsLastHour, usersToday, activeUsers, errorsLastHour, eventCounts, rooms, topUsers, recentEvents } = data;
      return { eventsToday, eventsLastHour, usersToday, activeUsers, errorsLastHour, eventCounts, rooms, topUsers, recentEvents };
    };
    await post('live-a', A.keys.ingest, { id: 'pre-crash', type: 'crash.test', userId: 'u9', error: 'boom', room: 'r1' });
    const before = await snapshot();
    expect(before.eventsToday).toBeGreaterThanOrEqual(4);
    server.kill();
    await server.restart();
    expect(await snapshot()).toEqual(before);
  });
});
