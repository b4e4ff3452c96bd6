import { runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { aggregatesOnly } from '../src/live/aggregates-only';
import type { Fanout } from '../src/live/fanout';
import { call, createWorkspace, hub, type TestWorkspace } from './helpers';

const BASE = 'http://edgepulse.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; fails after `ms` (generous: a shared 2-core machine). */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function createShare(ws: TestWorkspace) {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body: { name: 'lobby screen' } });
  expect(res.status).toBe(201);
  return { id: res.json.share.id as string, token: /\/s\/(sh_\w+)$/.exec(res.json.url)![1] };
}

async function mintToken(ws: TestWorkspace, bearer: string): Promise<string> {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: bearer });
  expect(res.status, res.text).toBe(200);
  return res.json.token;
}

interface Received {
  type: string;
  data: any;
}

async function openSocket(path: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(`${BASE}${path}`, { headers: { upgrade: 'websocket', ...headers } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const raw: string[] = [];
  const closed: { code?: number; reason?: string } = {};
  ws.accept();
  ws.addEventListener('message', (e) => {
    raw.push(e.data as string);
  });
  ws.addEventListener('close', (e) => {
    Object.assign(closed, { code: e.code, reason: e.reason });
    ws.close();
  });
  return { ws, raw, messages: () => raw.map((m) => JSON.parse(m) as Received), closed };
}

async function openSse(path: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(`${BASE}${path}`, { headers: { accept: 'text/event-stream', ...headers } });
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

/** Events naming users, in a room with two participants present. */
const seed = (prefix: string) => [
  { id: `${prefix}-j1`, type: 'presence.join', userId: 'alice@example.com', room: 'lobby' },
  { id: `${prefix}-j2`, type: 'presence.join', userId: 'bob@example.com', room: 'lobby' },
  ...Array.from({ length: 6 }, (_, i) => ({ id: `${prefix}-${i}`, type: 'chat.message', userId: i % 2 ? 'alice@example.com' : 'carol@example.com', room: 'lobby', ...(i === 0 ? { error: 'boom' } : {}) })),
];

async function ingest(ws: TestWorkspace, events: unknown[]) {
  expect((await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } })).status).toBe(202);
}

/** No user id anywhere in a live message or snapshot: neither the field nor its values. */
function expectNoUsers(text: string) {
  expect(text).not.toMatch(/userId/);
  expect(text).not.toMatch(/alice|bob|carol/);
}

describe('a share link’s live view is aggregates only', () => {
  it('keeps every figure and empties raw events, user ids and the firing alert rules (settings)', () => {
    const stats = { eventsPerSecond: 3, onlineUsers: 2, recentEvents: [{ id: 'e' }], recentErrors: [{ id: 'x' }], topUsers: [{ userId: 'u' }], participants: [{ userId: 'u' }], firingAlerts: [{ id: 'r', name: 'errors' }] };
    expect(aggregatesOnly(stats)).toEqual({ eventsPerSecond: 3, onlineUsers: 2, recentEvents: [], recentErrors: [], topUsers: [], participants: [], firingAlerts: [] });
    expect(aggregatesOnly({ onlineUsers: 1, recentEvents: [], recentErrors: [], topUsers: [] })).toEqual({ onlineUsers: 1, recentEvents: [], recentErrors: [], topUsers: [] });
  });

  it('JSON snapshots (workspace and room, bearer and minted token) carry the figures without user ids; a read key’s carry them', async () => {
    const ws = await createWorkspace('shlive');
    const share = await createShare(ws);
    await ingest(ws, seed('snap'));
    const paths = [`/api/v1/workspaces/${ws.slug}/live`, `/api/v1/workspaces/${ws.slug}/rooms/lobby/live`];
    await until(async () => (await call('GET', paths[1], { token: ws.keys.read })).json.data.participants.length === 2, 'the room to see both participants');
    const shareToken = await mintToken(ws, share.token);
    for (const path of paths) {
      const read = await call('GET', path, { token: ws.keys.read });
      expect(read.text).toMatch(/alice@example\.com/);
      expect(read.json.data.recentEvents.length).toBeGreaterThan(0);
      for (const res of [await call('GET', path, { token: share.token }), await call('GET', `${path}?token=${shareToken}`)]) {
        expect(res.status).toBe(200);
        expectNoUsers(res.text);
        expect(res.json.data).toMatchObject({ recentEvents: [], recentErrors: [], topUsers: [], eventsToday: read.json.data.eventsToday, onlineUsers: 3 });
        expect(res.json.data.eventsToday).toBe(8);
        if (path.includes('/rooms/')) expect(res.json.data).toMatchObject({ participants: [], current: 2 });
      }
    }
  });

  it('WebSockets and SSE streams of a share get stats without user ids and no events messages, while a read key’s get both', async () => {
    const ws = await createWorkspace('shlive');
    const share = await createShare(ws);
    const shareToken = await mintToken(ws, share.token);
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const room = `/api/v1/workspaces/${ws.slug}/rooms/lobby/live`;
    const readWs = await openSocket(path, { authorization: `Bearer ${ws.keys.read}` });
    const readRoomWs = await openSocket(room, { authorization: `Bearer ${ws.keys.read}` });
    const shareWs = await openSocket(path, { authorization: `Bearer ${share.token}` });
    const shareRoomWs = await openSocket(`${room}?token=${shareToken}`);
    const shareSse = await openSse(`${path}?token=${shareToken}`);
    const shareRoomSse = await openSse(room, { authorization: `Bearer ${share.token}` });
    await until(() => shareSse.stream.text.includes('event: stats') && shareRoomSse.stream.text.includes('event: stats'), 'the SSE streams to start');

    await ingest(ws, seed('push'));
    const lastStats = (raw: string[]) => raw.map((m) => JSON.parse(m) as Received).filter((m) => m.type === 'stats').at(-1)?.data;
    await until(
      () => readWs.messages().some((m) => m.type === 'events') && lastStats(readWs.raw)?.eventsToday === 8 && lastStats(readRoomWs.raw)?.participants.length === 2,
      'the read key’s sockets to see the events',
    );
    await until(() => lastStats(shareWs.raw)?.eventsToday === 8 && lastStats(shareRoomWs.raw)?.current === 2, 'the share’s sockets to see the new figures');
    await until(() => /"eventsToday":8/.test(shareSse.stream.text) && /"current":2/.test(shareRoomSse.stream.text), 'the share’s SSE streams to see the new figures');

    expect(readWs.raw.join('\n')).toMatch(/alice@example\.com/);
    expect(lastStats(readWs.raw).recentEvents.length).toBeGreaterThan(0);
    for (const socket of [shareWs, shareRoomWs]) {
      const types = new Set(socket.messages().map((m) => m.type));
      expect(types.has('events')).toBe(false);
      expect(types.has('connected') && types.has('stats')).toBe(true);
      expectNoUsers(socket.raw.join('\n'));
    }
    for (const sse of [shareSse, shareRoomSse]) {
      expect(sse.stream.text).not.toMatch(/event: events/);
      expectNoUsers(sse.stream.text);
    }
    expect(lastStats(shareRoomWs.raw)).toMatchObject({ participants: [], recentEvents: [], topUsers: [], current: 2 });
    for (const s of [readWs, readRoomWs, shareWs, shareRoomWs]) s.ws.close(1000, 'done');
    await shareSse.cancel();
    await shareRoomSse.cancel();
  });

  it('deleting the share closes its WebSockets (4401) and SSE streams, workspace and rooms, and refuses its next request and token at once; a read key’s stay', async () => {
    const ws = await createWorkspace('shlive');
    const share = await createShare(ws);
    const shareToken = await mintToken(ws, share.token);
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const room = `/api/v1/workspaces/${ws.slug}/rooms/lobby/live`;
    const goneWs = await openSocket(path, { authorization: `Bearer ${share.token}` });
    const goneTokenWs = await openSocket(`${path}?token=${shareToken}`);
    const goneRoomWs = await openSocket(room, { authorization: `Bearer ${share.token}` });
    const goneSse = await openSse(path, { authorization: `Bearer ${share.token}` });
    const kept = await openSocket(path, { authorization: `Bearer ${ws.keys.read}` });
    await until(
      () => runInDurableObject(hub(ws.id), (instance) => (instance as unknown as { live: { watchedRooms: Set<string> } }).live.watchedRooms.has('lobby')),
      'the room to be watched',
    );
    await until(() => goneSse.stream.text.includes('event: stats'), 'the SSE stream to start');

    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/shares/${share.id}`, { token: ws.keys.admin })).status).toBe(204);
    await until(() => [goneWs, goneTokenWs, goneRoomWs].every((s) => s.closed.code !== undefined) && goneSse.stream.ended, 'the share’s connections to close');
    for (const s of [goneWs, goneTokenWs, goneRoomWs]) expect(s.closed).toEqual({ code: 4401, reason: 'key revoked' });
    for (const res of [
      await call('GET', path, { token: share.token }),
      await call('GET', `${path}?token=${shareToken}`),
      await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary`, { token: share.token }),
      await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: share.token }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
    }
    expect((await SELF.fetch(`${BASE}${path}?token=${shareToken}`, { headers: { upgrade: 'websocket' } })).status).toBe(401);
    expect(kept.closed.code).toBeUndefined();
    kept.ws.close(1000, 'done');
  });

  it('a share’s open WebSockets and SSE streams close (4401) at the hub’s first heartbeat after it expires; a read key’s stay', async () => {
    const ws = await createWorkspace('shlive');
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/shares`, { token: ws.keys.admin, body: { expiresAt: Date.now() + 1500 } });
    const token = /\/s\/(sh_\w+)$/.exec(res.json.url)![1];
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const liveToken = await mintToken(ws, token);
    const expiring = await openSocket(path, { authorization: `Bearer ${token}` });
    const expiringByToken = await openSocket(`${path}?token=${liveToken}`);
    const expiringSse = await openSse(path, { authorization: `Bearer ${token}` });
    const kept = await openSocket(path, { authorization: `Bearer ${ws.keys.read}` });
    await until(() => expiringSse.stream.text.includes('event: stats'), 'the SSE stream to start');
    const heartbeat = () => runInDurableObject(hub(ws.id), (instance) => void (instance as unknown as { live: { fanout: Fanout } }).live.fanout.periodic(Date.now()));
    await heartbeat();
    expect(expiring.closed.code).toBeUndefined();
    await sleep(Math.max(0, Date.parse(res.json.share.expiresAt) - Date.now()) + 20);
    await heartbeat();
    await until(() => expiring.closed.code !== undefined && expiringByToken.closed.code !== undefined && expiringSse.stream.ended, 'the expired share’s connections to close');
    expect(expiring.closed).toEqual({ code: 4401, reason: 'share link expired' });
    expect(expiringByToken.closed).toEqual({ code: 4401, reason: 'share link expired' });
    expect(expiringSse.stream.text).toMatch(/: share link expired\n\n$/);
    expect(kept.closed.code).toBeUndefined();
    kept.ws.close(1000, 'done');
  });

  it('a share counts as a key for the per-key stream cap; its tokens count as the share', async () => {
    const ws = await createWorkspace('shlive');
    const share = await createShare(ws);
    await runInDurableObject(hub(ws.id), (instance) => void ((instance as unknown as { live: { fanout: Fanout } }).live.fanout.maxPerKey = 1));
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const first = await openSocket(path, { authorization: `Bearer ${share.token}` });
    const token = await mintToken(ws, share.token);
    const attempts: Array<[string, Record<string, string>]> = [[path, { authorization: `Bearer ${share.token}` }], [`${path}?token=${token}`, {}]];
    for (const [url, headers] of attempts) {
      const res = await SELF.fetch(`${BASE}${url}`, { headers: { upgrade: 'websocket', ...headers } });
      expect(res.status).toBe(429);
    }
    const other = await openSocket(path, { authorization: `Bearer ${ws.keys.read}` });
    first.ws.close(1000, 'done');
    other.ws.close(1000, 'done');
  });
});
