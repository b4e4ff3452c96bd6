import { runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { NormalizedEvent } from '../src/ingest/types';
import { FANOUT } from '../src/live/fanout';
import { LiveState } from '../src/live/stats';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, hub, makeEvents } from './helpers';

async function openSocket(path: string, headers: Record<string, string>) {
  const res = await SELF.fetch(`http://edgepulse.test${path}`, { headers: { upgrade: 'websocket', ...headers } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const messages: Array<{ type: string; data: any }> = [];
  ws.accept();
  ws.addEventListener('message', (e) => {
    messages.push(JSON.parse(e.data as string));
  });
  return { ws, messages };
}

describe('live routes in workerd', () => {
  it('mints a 5-minute live token that opens the live routes of its workspace only', async () => {
    const ws = await createWorkspace('tok');
    const other = await createWorkspace('tok');
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.ingest })).status).toBe(403);
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(Date.parse(res.json.expiresAt) - Date.now()).toBeLessThanOrEqual(LIMITS.liveTokenTtlMs);
    const token = res.json.token as string;
    const snap = await call('GET', `/api/v1/workspaces/${ws.slug}/live?token=${token}`);
    expect(snap.status).toBe(200);
    expect(snap.json.meta).toMatchObject({ workspace: ws.slug, connections: 0 });
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/lobby/live?token=${token}`)).json.data).toMatchObject({ room: 'lobby', current: 0 });
    // Only on the live routes, only for its workspace, never to mint another.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/events?token=${token}`)).status).toBe(401);
    expect((await call('GET', `/api/v1/workspaces/${other.slug}/live?token=${token}`)).status).toBe(403);
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/live?token=${token}x`)).status).toBe(401);
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/bad%20room/live`, { token: ws.keys.read })).status).toBe(400);
    const doc = await call('GET', '/api/v1/openapi.json');
    for (const path of ['/api/v1/workspaces/{ws}/live', '/api/v1/workspaces/{ws}/rooms/{room}/live', '/api/v1/workspaces/{ws}/live/token']) {
      expect(doc.json.paths[path], path).toBeDefined();
    }
    expect(doc.json.paths['/api/v1/workspaces/{ws}/live'].delete).toBeDefined();
    expect(doc.json.components.schemas.Stats).toBeDefined();
  });

  it('coalesces: 40 batches (4,000 events) within a second become a handful of messages per subscriber', async () => {
    const ws = await createWorkspace('coal');
    const { ws: socket, messages } = await openSocket(`/api/v1/workspaces/${ws.slug}/live`, { authorization: `Bearer ${ws.keys.read}` });
    await new Promise((r) => setTimeout(r, 50));
    // connected, its first stats, then stats with the new connection count (coalesced).
    expect(messages.map((m) => m.type)).toEqual(['connected', 'stats', 'stats']);
    expect(messages[2].data.connections).toBe(1);
    const started = Date.now();
    for (let i = 0; i < 40; i++) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(100, `c${i}`) } });
      expect(res.status).toBe(202);
    }
    const elapsed = Date.now() - started;
    await new Promise((r) => setTimeout(r, 400));
    const events = messages.filter((m) => m.type === 'events');
    const stats = messages.filter((m) => m.type === 'stats').slice(2);
    const window = (elapsed + 400) / 1000;
    expect(events.length).toBeLessThanOrEqual(Math.ceil(window * 10) + 1);
    expect(stats.length).toBeLessThanOrEqual(Math.ceil(window * 4) + 1);
    expect(events.every((m) => m.data.length <= LIMITS.liveEventsPerMessage)).toBe(true);
    expect(stats.at(-1)!.data).toMatchObject({ eventsToday: 4000, eventsLastMinute: 4000, connections: 1, activeUsers: 7 });
    // The newest events always make it into the stream.
    expect(events.at(-1)!.data.at(-1).id).toBe('c39-99');
    // A ping is answered without the object's code.
    const before = messages.length;
    socket.send('{"type":"ping"}');
    await new Promise((r) => setTimeout(r, 100));
    expect(messages.slice(before)).toEqual([{ type: 'pong' }]);
    const del = await call('DELETE', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.admin });
    expect(del.json).toEqual({ closed: 1 });
  });

  it('answers 429 rate_limited with Retry-After once the hub holds its maximum of live connections', async () => {
    const ws = await createWorkspace('cap');
    await runInDurableObject(hub(ws.id), (instance) => {
      (instance as unknown as { live: { fanout: { maxConnections: number } } }).live.fanout.maxConnections = 1;
    });
    const { ws: first } = await openSocket(`/api/v1/workspaces/${ws.slug}/live`, { authorization: `Bearer ${ws.keys.read}` });
    for (const headers of [{ upgrade: 'websocket' }, { accept: 'text/event-stream' }] as Array<Record<string, string>>) {
      const res = await SELF.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/live`, { headers: { ...headers, authorization: `Bearer ${ws.keys.read}` } });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    }
    // The JSON snapshot is no connection: still answered.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read })).status).toBe(200);
    first.close(1000, 'done');
  });

  it('sends stats from the alarm when nothing happens (the at-least-every-15 s heartbeat) and keeps the alarm set', async () => {
    const ws = await createWorkspace('beat');
    const { messages } = await openSocket(`/api/v1/workspaces/${ws.slug}/live`, { authorization: `Bearer ${ws.keys.read}` });
    await new Promise((r) => setTimeout(r, 1100));
    const before = messages.length;
    expect(await runDurableObjectAlarm(hub(ws.id))).toBe(true);
    // The alarm sent it; on a busy machine the socket may take more than a few milliseconds to hand it over.
    await vi.waitFor(() => expect(messages.slice(before).some((m) => m.type === 'stats')).toBe(true), { timeout: 3_000, interval: 20 });
    const beat = messages.slice(before);
    expect(beat.every((m) => m.type === 'stats' || m.type === 'ping')).toBe(true);
    // The next heartbeat is scheduled within 15 s.
    const next = await runInHub(ws.id);
    expect(next).not.toBeNull();
    expect(next! - Date.now()).toBeLessThanOrEqual(15_000);
  });

  it('pings every 30 s on the wall-clock grid of the 15 s heartbeat: every other slot', async () => {
    const ws = await createWorkspace('ping');
    const { ws: socket, messages } = await openSocket(`/api/v1/workspaces/${ws.slug}/live`, { authorization: `Bearer ${ws.keys.read}` });
    await new Promise((r) => setTimeout(r, 50));
    const slot = FANOUT.statsAtLeastMs;
    const pingSlot = (Math.floor(Date.now() / FANOUT.pingEveryMs) + 1) * FANOUT.pingEveryMs; // a slot that starts a 30 s period
    const beats: string[][] = [];
    for (const at of [pingSlot + 10, pingSlot + slot + 10, pingSlot + 2 * slot + 10]) {
      const before = messages.length;
      const next = await runInDurableObject(hub(ws.id), (instance) => (instance as unknown as { live: { fanout: { periodic(now: number): number | null } } }).live.fanout.periodic(at));
      expect(next).toBe(Math.floor(at / slot) * slot + slot);
      await new Promise((r) => setTimeout(r, 30));
      beats.push(messages.slice(before).map((m) => m.type));
    }
    expect(beats.map((types) => types.includes('ping'))).toEqual([true, false, true]);
    const ping = messages.find((m) => m.type === 'ping')!;
    expect(Number.isNaN(Date.parse(ping.data.timestamp))).toBe(false);
    socket.close(1000, 'done');
  });

  it('stays bounded with more users than the cap; users today estimated within 2%', () => {
    const state = new LiveState('UTC');
    const now = Date.parse('2026-11-23T12:00:00Z');
    const n = LIMITS.liveUsersMax + 10_000;
    const batch: NormalizedEvent[] = [];
    for (let i = 0; i < n; i++) {
      batch.push({ id: `x${i}`, type: 't', ts: now - 1000, receivedAt: now - 1000, userId: `user-${i}`, sessionId: `s-${i}`, room: null, durationMs: i % 100, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {} });
    }
    state.add(batch, now);
    const s = state.snapshot(now, { connections: 0, rooms: [] });
    expect(s.onlineUsers).toBe(LIMITS.liveUsersMax); // the oldest beyond the cap are forgotten
    expect(s.activeSessions).toBe(LIMITS.liveSessionsMax);
    expect(Math.abs(s.usersToday - n) / n).toBeLessThan(0.02);
    expect(Math.abs(s.timeline[58].users - n) / n).toBeLessThan(0.05);
    expect(s.eventsToday).toBe(n);
    expect(JSON.stringify(state.toJSON()).length).toBeLessThan(8_000_000);
  });
});

async function runInHub(id: string): Promise<number | null> {
  return runInDurableObject(hub(id), (_instance, state) => state.storage.getAlarm());
}
