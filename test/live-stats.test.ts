import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import { call, createWorkspace, hub } from './helpers';

const MIN = 60_000;
// 23:50 in Tokyo (UTC+9): the day there turns at T0 + 10 min.
const T0 = Date.parse('2026-11-23T14:50:00.000Z');

function ev(id: string, at: number, extra: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id, type: 'page', ts: at, receivedAt: at, userId: null, sessionId: null, room: null, durationMs: null,
    bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {}, ...extra,
  };
}

async function tokyoWorkspace() {
  const ws = await createWorkspace('live', { timezone: 'Asia/Tokyo' });
  const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'Asia/Tokyo' };
  return { ws, ref };
}

/** The scripted sequence: d and a long ago, b 10 min ago, c's error 2 min ago, then a, b and a future-dated event. */
const script = () => [
  ev('e0', T0 - 40 * MIN, { userId: 'd' }),
  ev('e1', T0 - 40 * MIN, { userId: 'a', sessionId: 's1', context: { platform: 'Web', country: 'DE' } }),
  ev('e2', T0 - 10 * MIN, { userId: 'b', sessionId: 's2', context: { platform: 'iOS', device: 'mobile', country: 'US' } }),
  ev('e3', T0 - 2 * MIN, { userId: 'c', type: 'api.call', error: 'timeout', durationMs: 100, bytesIn: 3000, bytesOut: 6000, context: { platform: 'Web' } }),
  ev('e4', T0 - 30_000, { userId: 'a', sessionId: 's1', type: 'api.call', durationMs: 200, context: { platform: 'Android' } }),
  ev('e5', T0 - 5_000, { userId: 'b', type: 'api.call', durationMs: 300 }),
  // Dated a minute ahead of its receipt: counted at its receipt time.
  { ...ev('e6', T0 + MIN), receivedAt: T0 },
];

describe('WorkspaceHub live stats', () => {
  it('computes every Stats field over its window, slides, turns the day in the workspace time zone and survives a restart', async () => {
    const { ws, ref } = await tokyoWorkspace();
    let stub = hub(ws.id);
    await stub.setClockForTest(T0);
    const events = script();
    // Three batches: the snapshot is saved with the first, the others stay in the outbox until replayed.
    expect(await stub.ingest(ref, events.slice(0, 3))).toEqual({ accepted: 3, duplicates: 0 });
    await stub.ingest(ref, events.slice(3, 5));
    await stub.ingest(ref, [...events.slice(5), events[0]]); // e0 again: a duplicate, not counted twice

    const s = await stub.liveStats();
    expect(s.timestamp).toBe(new Date(T0).toISOString());
    expect(s.onlineUsers).toBe(3); // a, b, c (last 5 min)
    expect(s.activeUsers).toBe(3); // d was last seen 40 min ago
    expect(s.usersToday).toBe(4); // a, b, c, d: all after midnight in Tokyo (15:00 UTC)
    expect(s.activeSessions).toBe(2); // s1 (via e4) and s2
    expect(s.connections).toBe(0);
    expect(s.eventsPerSecond).toBe(0.2); // e5 and e6 in the last 10 s
    expect(s.eventsLastMinute).toBe(3); // e4, e5, e6
    expect(s.eventsLastHour).toBe(7);
    expect(s.eventsToday).toBe(7);
    expect(s.errorsLastHour).toBe(1);
    expect(s.errorRate).toBe(0.142857);
    // 100, 200, 300 ms: the quantile q is the value of rank floor(q·(n−1)), within DDSketch's 1%.
    expect(Math.abs(s.latencyMs.p50! - 200) / 200).toBeLessThan(0.01);
    expect(Math.abs(s.latencyMs.p95! - 200) / 200).toBeLessThan(0.01);
    expect(Math.abs(s.latencyMs.p99! - 200) / 200).toBeLessThan(0.01);
    expect(s.bandwidth).toEqual({ bytesInPerSecond: 10, bytesOutPerSecond: 20 });
    expect(s.eventCounts).toEqual({ page: 4, 'api.call': 3 });
    expect(s.rooms).toEqual([]);
    expect(s.distribution).toEqual({
      platform: { Android: 1, iOS: 1, Web: 1 }, // a's latest platform is Android
      device: { mobile: 1 },
      browser: {},
      os: {},
      country: { DE: 1, US: 1 },
    });
    expect(s.recentEvents.map((e) => e.id)).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
    expect(s.recentEvents[0].timestamp).toBe(new Date(T0).toISOString());
    expect(s.recentErrors).toEqual([{ id: 'e3', type: 'api.call', userId: 'c', room: null, timestamp: new Date(T0 - 2 * MIN).toISOString(), error: 'timeout' }]);
    expect(s.topUsers).toEqual([{ userId: 'a', events: 2 }, { userId: 'b', events: 2 }, { userId: 'c', events: 1 }, { userId: 'd', events: 1 }]);
    expect(s.timeline).toHaveLength(60);
    expect(s.timeline[0].t).toBe(new Date(T0 - 590_000).toISOString());
    expect(s.timeline[59]).toEqual({ t: new Date(T0).toISOString(), events: 1, users: 0 }); // e6
    expect(s.timeline[58]).toEqual({ t: new Date(T0 - 10_000).toISOString(), events: 1, users: 1 }); // e5
    expect(s.timeline[56]).toMatchObject({ events: 1, users: 1 }); // e4
    expect(s.timeline[47]).toMatchObject({ events: 1, users: 1 }); // e3; e2 is 600 s ago, outside
    expect(s.timeline.reduce((n, b) => n + b.events, 0)).toBe(4);

    // A forced restart: the snapshot in storage plus the outbox replay give the same numbers.
    await evictDurableObject(stub);
    stub = hub(ws.id);
    await stub.setClockForTest(T0);
    expect(await stub.liveStats()).toEqual(s);

    // And after the outbox is drained to D1 (the snapshot must cover what left the outbox).
    expect(await stub.flush()).toBe(0);
    await evictDurableObject(stub);
    stub = hub(ws.id);
    await stub.setClockForTest(T0);
    expect(await stub.liveStats()).toEqual(s);

    // Six minutes later: nobody online, still active, latency and the last minute empty.
    await stub.setClockForTest(T0 + 6 * MIN);
    const later = await stub.liveStats();
    expect(later).toMatchObject({ onlineUsers: 0, activeUsers: 3, eventsLastMinute: 0, eventsPerSecond: 0, eventsLastHour: 7, eventsToday: 7, usersToday: 4 });
    expect(later.latencyMs).toEqual({ p50: null, p95: null, p99: null });
    expect(later.bandwidth).toEqual({ bytesInPerSecond: 0, bytesOutPerSecond: 0 });
    expect(later.distribution.platform).toEqual({});
    expect(later.timeline.reduce((n, b) => n + b.events, 0)).toBe(4); // e3…e6 are 6–8 min old: still in the 10-min timeline
    expect(later.timeline[59 - 36]).toEqual({ t: new Date(T0).toISOString(), events: 1, users: 0 }); // e6 moved 36 buckets back

    // Midnight in Tokyo: today's counters start over, the hour's do not.
    await stub.setClockForTest(T0 + 11 * MIN);
    const nextDay = await stub.liveStats();
    expect(nextDay).toMatchObject({ eventsToday: 0, usersToday: 0, eventCounts: {}, topUsers: [], eventsLastHour: 7, errorsLastHour: 1, activeUsers: 3 });
    // Into the drained (empty) outbox: the second batch is not in the snapshot yet, so a restart must replay it.
    await stub.ingest(ref, [ev('f1', T0 + 11 * MIN, { userId: 'e' })]);
    await stub.ingest(ref, [ev('f2', T0 + 9 * MIN, { userId: 'f' })]); // f2: yesterday in Tokyo
    const beforeRestart = await stub.liveStats();
    await evictDurableObject(stub);
    stub = hub(ws.id);
    await stub.setClockForTest(T0 + 11 * MIN);
    const after = await stub.liveStats();
    expect(after).toEqual(beforeRestart);
    expect(after).toMatchObject({ eventsToday: 1, usersToday: 1, eventCounts: { page: 1 }, topUsers: [{ userId: 'e', events: 1 }], eventsLastHour: 9, onlineUsers: 2 });

    // At T0 + 40 min: the 30-min window holds only e (T0 + 11 min); the hour holds e2…e6, f1, f2 (e0, e1 are 80 min old).
    await stub.setClockForTest(T0 + 40 * MIN);
    const far = await stub.liveStats();
    expect(far).toMatchObject({ activeUsers: 1, onlineUsers: 0, activeSessions: 0, eventsLastHour: 7, errorsLastHour: 1, eventsToday: 1 });
    // And at T0 + 51 min, e2 (61 min old) has left the hour too.
    await stub.setClockForTest(T0 + 51 * MIN);
    expect(await stub.liveStats()).toMatchObject({ activeUsers: 0, eventsLastHour: 6, errorsLastHour: 1 });
  });

  it('keeps presence per room: joins, leaves, heartbeat timeouts, peak and average stay', async () => {
    const { ws, ref } = await tokyoWorkspace();
    const stub = hub(ws.id);
    await stub.setClockForTest(T0);
    await stub.ingest(ref, [
      ev('p1', T0 - 120_000, { type: 'presence.join', userId: 'a', room: 'standup', properties: { name: 'Ann' }, context: { platform: 'iOS' } }),
      ev('p2', T0 - 100_000, { type: 'presence.heartbeat', userId: 'v', room: 'standup' }),
      ev('p3', T0 - 90_000, { type: 'presence.join', userId: 'b', room: 'standup' }),
      ev('p4', T0 - 80_000, { type: 'message.sent', userId: 'a', room: 'standup' }),
      ev('p5', T0 - 60_000, { type: 'presence.leave', userId: 'b', room: 'standup' }),
      ev('p6', T0 - 50_000, { type: 'presence.join', userId: 'x', room: 'other' }),
      ev('p7', T0 - 20_000, { type: 'presence.heartbeat', userId: 'v', room: 'standup' }),
    ]);
    let s = await stub.liveStats();
    expect(s.rooms).toEqual([{ room: 'standup', current: 2, peak: 3 }, { room: 'other', current: 1, peak: 1 }]);

    const roomStats = async () => (await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/standup/live`, { token: ws.keys.read })).json.data;
    const room = env.ROOM_HUB.get(env.ROOM_HUB.idFromName(`${ws.id}/standup`));
    await room.setClockForTest(T0);
    let r = await waitFor(roomStats, (d) => d.eventsToday === 6);
    expect(r).toMatchObject({
      room: 'standup', current: 2, peak: 3, totalJoins: 3, avgSecondsInRoom: 30, eventsToday: 6, onlineUsers: 3,
      rooms: [{ room: 'standup', current: 2, peak: 3 }],
      participants: [
        { userId: 'a', name: 'Ann', platform: 'iOS', joinedAt: new Date(T0 - 120_000).toISOString() },
        { userId: 'v', joinedAt: new Date(T0 - 100_000).toISOString() },
      ],
    });
    expect(r.recentEvents.map((e: { id: string }) => e.id)).toEqual(['p7', 'p5', 'p4', 'p3', 'p2', 'p1']); // not p6: another room

    // 89 s after v's last heartbeat v is still there; at 90 s v has left (a joined, never heartbeats: stays).
    await stub.setClockForTest(T0 - 20_000 + 89_000);
    await stub.tickForTest();
    expect((await stub.liveStats()).rooms.find((x) => x.room === 'standup')).toEqual({ room: 'standup', current: 2, peak: 3 });
    await stub.setClockForTest(T0 - 20_000 + 90_000);
    await stub.tickForTest();
    s = await stub.liveStats();
    expect(s.rooms).toEqual([{ room: 'other', current: 1, peak: 1 }, { room: 'standup', current: 1, peak: 3 }]);
    r = await waitFor(roomStats, (d) => d.current === 1);
    // v stayed from T0-100 s to its last heartbeat at T0-20 s (80 s); b stayed 30 s.
    expect(r).toMatchObject({ current: 1, peak: 3, totalJoins: 3, avgSecondsInRoom: 55, participants: [{ userId: 'a' }] });

    // The room's own numbers and presence survive its restart too.
    await evictDurableObject(room);
    await evictDurableObject(stub);
    const room2 = env.ROOM_HUB.get(env.ROOM_HUB.idFromName(`${ws.id}/standup`));
    await room2.setClockForTest(T0 + 70_000);
    const again = await roomStats();
    expect(again).toEqual({ ...r, timestamp: again.timestamp });
    const stub2 = hub(ws.id);
    await stub2.setClockForTest(T0 + 70_000);
    expect((await stub2.liveStats()).rooms).toEqual(s.rooms);
  });
});

async function waitFor<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await get();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await get();
  }
  return v;
}
