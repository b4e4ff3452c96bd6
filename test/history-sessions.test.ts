import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';
import { call, countRows, createWorkspace, flush, ROOT, type TestWorkspace } from './helpers';

const MIN = 60_000;

async function send(ws: TestWorkspace, events: Array<Record<string, unknown>>) {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
  expect(res.status).toBe(202);
  expect(await flush(ws)).toBe(0);
}

const join = (id: string, room: string, userId: string, ts: number, context: Record<string, string> = {}) => ({ id, type: 'presence.join', room, userId, timestamp: ts, context });
const leave = (id: string, room: string, userId: string, ts: number) => ({ id, type: 'presence.leave', room, userId, timestamp: ts });

describe('participant and room sessions from presence events', () => {
  it('derives sessions across drains, within one drain, and from room.started / room.finished', async () => {
    const ws = await createWorkspace('sess');
    const t0 = Date.now() - 3 * 60 * MIN;
    // Drain 1: two people join standup; u1 joins twice (the second join is not a new session).
    await send(ws, [
      join('j1', 'standup', 'u1', t0, { platform: 'iOS', connectionType: 'turn' }),
      join('j2', 'standup', 'u2', t0 + MIN, { platform: 'Web' }),
      join('j1b', 'standup', 'u1', t0 + 2 * MIN),
    ]);
    // Drain 2: they leave; the room empties and its session ends with the last leave.
    await send(ws, [leave('l1', 'standup', 'u1', t0 + 10 * MIN), leave('l2', 'standup', 'u2', t0 + 20 * MIN)]);
    // Drain 3: u3 joins and leaves lobby in one drain, then u3 comes back later (still present).
    await send(ws, [join('j3', 'lobby', 'u3', t0 + 30 * MIN), leave('l3', 'lobby', 'u3', t0 + 35 * MIN)]);
    await send(ws, [join('j3b', 'lobby', 'u3', t0 + 50 * MIN)]);
    // Explicit room session: room.started … room.finished with a participant inside.
    await send(ws, [
      { id: 'rs', type: 'room.started', room: 'town-hall', timestamp: t0 + 60 * MIN },
      join('j4', 'town-hall', 'u4', t0 + 61 * MIN),
      leave('l4', 'town-hall', 'u4', t0 + 70 * MIN),
    ]);
    await send(ws, [{ id: 'rf', type: 'room.finished', room: 'town-hall', timestamp: t0 + 75 * MIN }]);

    const iso = (t: number) => new Date(t).toISOString();
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?range=24h`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    const sessions = res.json.sessions.map((s: any) => [s.userId, s.room, s.joinedAt, s.leftAt, s.platform, s.connectionType]);
    expect(sessions).toEqual([
      ['u4', 'town-hall', iso(t0 + 61 * MIN), iso(t0 + 70 * MIN), null, null],
      ['u3', 'lobby', iso(t0 + 50 * MIN), null, null, null],
      ['u3', 'lobby', iso(t0 + 30 * MIN), iso(t0 + 35 * MIN), null, null],
      ['u2', 'standup', iso(t0 + MIN), iso(t0 + 20 * MIN), 'Web', null],
      ['u1', 'standup', iso(t0), iso(t0 + 10 * MIN), 'iOS', 'turn'],
    ]);
    expect(res.json.sessions[4].durationSeconds).toBe(600);
    expect(res.json.sessions[1].durationSeconds).toBeGreaterThan(120 * 60 - 5);

    const u1 = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?range=24h&userId=u1`, { token: ws.keys.read });
    expect(u1.json.sessions).toHaveLength(1);
    const lobby = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?range=24h&room=lobby`, { token: ws.keys.read });
    expect(lobby.json.sessions).toHaveLength(2);

    const rooms = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms?range=24h`, { token: ws.keys.read });
    expect(rooms.status).toBe(200);
    expect(rooms.json.rooms.map((r: any) => [r.room, r.startedAt, r.endedAt, r.maxParticipants, r.participants])).toEqual([
      ['town-hall', iso(t0 + 60 * MIN), iso(t0 + 75 * MIN), 1, 1],
      ['lobby', iso(t0 + 50 * MIN), null, 1, 1],
      ['lobby', iso(t0 + 30 * MIN), iso(t0 + 35 * MIN), 1, 1],
      ['standup', iso(t0), iso(t0 + 20 * MIN), 2, 2],
    ]);

    // avgSessionSeconds: ended participant sessions that started in the range (600, 1140, 300, 540 s).
    const summary = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=24h`, { token: ws.keys.read });
    expect(summary.json.avgSessionSeconds).toBeCloseTo((600 + 1140 + 300 + 540) / 4, 6);
    expect(summary.json.events).toBe(12);

    // Deleting the workspace deletes its rollups and sessions too.
    const del = await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() });
    expect(del.status).toBe(204);
    // (Its D1 raw rows, from before the archive, are left to the archive migration, which skips deleted workspaces.)
    for (const table of ['rollups', 'participant_sessions', 'room_sessions']) {
      expect(await countRows(`SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?`, ws.id), table).toBe(0);
    }
  });

  it('browser viewers kept by presence.heartbeat leave at their last heartbeat once unheard of for 90 s (the cron)', async () => {
    const ws = await createWorkspace('viewers');
    const t0 = Date.now() - 60 * MIN;
    const beat = (id: string, room: string, userId: string, ts: number) => ({ id, type: 'presence.heartbeat', room, userId, timestamp: ts, context: { platform: 'Web' } });
    await send(ws, [join('vj', 'webinar', 'viewer', t0), beat('vb1', 'webinar', 'viewer', t0 + MIN), join('pj', 'webinar', 'speaker', t0 + MIN)]);
    await send(ws, [beat('vb2', 'webinar', 'viewer', t0 + 2 * MIN), beat('sb1', 'solo', 'lurker', t0 + 3 * MIN), beat('sb2', 'solo', 'lurker', t0 + 4 * MIN)]);
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const iso = (t: number) => new Date(t).toISOString();
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?range=24h`, { token: ws.keys.read });
    expect(res.json.sessions.map((s: any) => [s.userId, s.room, s.joinedAt, s.leftAt])).toEqual([
      ['lurker', 'solo', iso(t0 + 3 * MIN), iso(t0 + 4 * MIN)],
      ['speaker', 'webinar', iso(t0 + MIN), null], // joined without heartbeats: present until it leaves
      ['viewer', 'webinar', iso(t0), iso(t0 + 2 * MIN)],
    ]);
    const rooms = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms?range=24h`, { token: ws.keys.read });
    expect(rooms.json.rooms.map((r: any) => [r.room, r.startedAt, r.endedAt, r.participants])).toEqual([
      ['solo', iso(t0 + 3 * MIN), iso(t0 + 4 * MIN), 1],
      ['webinar', iso(t0), null, 2],
    ]);
  });

  it('room.finished ends everyone still present, in history and in the live view', async () => {
    const ws = await createWorkspace('sess-finish');
    const t0 = Date.now() - 30 * MIN;
    await send(ws, [
      { id: 'rs', type: 'room.started', room: 'webinar', timestamp: t0 },
      join('a', 'webinar', 'host', t0 + MIN),
      join('b', 'webinar', 'guest', t0 + 2 * MIN),
    ]);
    await send(ws, [leave('c', 'webinar', 'guest', t0 + 5 * MIN), { id: 'rf', type: 'room.finished', room: 'webinar', timestamp: t0 + 10 * MIN }]);
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/sessions?range=24h&room=webinar`, { token: ws.keys.read });
    const byUser = Object.fromEntries(res.json.sessions.map((s: any) => [s.userId, s.leftAt]));
    expect(byUser).toEqual({ host: new Date(t0 + 10 * MIN).toISOString(), guest: new Date(t0 + 5 * MIN).toISOString() });
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/webinar/live`, { token: ws.keys.read });
    expect(live.status).toBe(200);
    expect(live.json.data.current).toBe(0);
    expect(live.json.data.participants).toEqual([]);
    const overview = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(overview.json.data.rooms.find((r: any) => r.room === 'webinar')?.current ?? 0).toBe(0);
  });
});
