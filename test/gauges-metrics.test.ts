import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, flush, hub, type TestWorkspace } from './helpers';
import { rng } from './history-dataset';

type Family = { name: string; help: string; type: string; metrics: Array<Record<string, any>> };

async function scrape(ws: TestWorkspace): Promise<{ families: Map<string, Family>; text: string }> {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/metrics`, { token: ws.keys.read });
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const families = parsePrometheusTextFormat(res.text) as Family[];
  return { families: new Map(families.map((f) => [f.name, f])), text: res.text };
}

/** A family's samples as label value → number. */
function byLabel(f: Family | undefined, label: string): Map<string, number> {
  return new Map((f?.metrics ?? []).map((m) => [m.labels[label], Number(m.value)]));
}

const single = (f: Family | undefined) => Number(f?.metrics[0]?.value);

const get = async (ws: TestWorkspace, path: string) => {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}`, { token: ws.keys.read });
  expect(res.status, `${path} ${res.text}`).toBe(200);
  return res.json;
};

/** Prometheus metric and label names (the exposition format's own rules, and no leading __ on labels). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

describe('/metrics: types, platforms, gauges and rooms', () => {
  it('parses, follows the naming conventions and its numbers equal the reports’ and the live view’s', async () => {
    const ws = await createWorkspace('metrics-g');
    const r = rng(5);
    const t = Date.now() - 60_000;
    const types = ['page.view', 'Order Completed', 'api.call', 'message "quoted"'];
    const platforms = ['Web', 'iOS', 'Android', undefined];
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 300; i++) {
      const platform = platforms[i % 4];
      const gauges = r() < 0.4 ? { cpu: Math.round(r() * 1e4) / 1e4, 'queue.depth': Math.floor(r() * 50) } : undefined;
      events.push({
        id: `m-${i}`, type: types[Math.floor(r() * types.length)], timestamp: t + i * 10, userId: `u${i % 40}`,
        ...(r() < 0.1 ? { error: 'boom' } : {}),
        ...(gauges ? { gauges } : {}),
        ...(platform ? { context: { platform } } : {}),
      });
    }
    // Rooms: 3 in a, 2 in b (one of 3 left), 1 in c.
    const presence = [['a', 'p1'], ['a', 'p2'], ['a', 'p3'], ['b', 'p4'], ['b', 'p5'], ['b', 'p6'], ['c', 'p7']].map(([room, user], i) => (
      { id: `j-${i}`, type: 'presence.join', timestamp: t + 4000 + i, room, userId: user }));
    presence.push({ id: 'l-0', type: 'presence.leave', timestamp: t + 5000, room: 'b', userId: 'p6' });
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: [...events, ...presence] } });
    expect(res.status, res.text).toBe(202);
    expect(await flush(ws)).toBe(0);

    const { families, text } = await scrape(ws);
    for (const f of families.values()) {
      expect(f.name).toMatch(METRIC_NAME);
      expect(f.help.length, f.name).toBeGreaterThan(0);
      if (f.type === 'counter') expect(f.name, 'counters end in _total').toMatch(/_total$/);
      for (const m of f.metrics) for (const l of Object.keys(m.labels ?? {})) expect(l, f.name).toMatch(LABEL_NAME);
    }
    // Every sample line belongs to a family declared once.
    const declared = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(declared).size).toBe(declared.length);

    // Counters by type equal the breakdown by type.
    const breakdown = await get(ws, 'stats/breakdown?by=type&range=30d&limit=100');
    const eventsByType = byLabel(families.get('edgepulse_events_total'), 'type');
    const errorsByType = byLabel(families.get('edgepulse_errors_total'), 'type');
    expect(eventsByType.size).toBe(breakdown.rows.length);
    for (const row of breakdown.rows) {
      expect(eventsByType.get(row.key), row.key).toBe(row.events);
      expect(errorsByType.get(row.key), row.key).toBe(row.errors);
    }

    // Live figures: online users by platform, gauges, rooms.
    const live = (await get(ws, 'live')).data;
    const online = single(families.get('edgepulse_online_users'));
    expect(online).toBe(live.onlineUsers);
    expect(online).toBe(47); // u0…u39 and the 7 participants
    const byPlatform = byLabel(families.get('edgepulse_online_users_by_platform'), 'platform');
    expect(Object.fromEntries(byPlatform)).toEqual({ ...live.distribution.platform, unknown: online - Object.values<number>(live.distribution.platform).reduce((a, b) => a + b, 0) });
    expect([...byPlatform.values()].reduce((a, b) => a + b, 0)).toBe(online);
    expect(byPlatform.get('unknown')).toBeGreaterThan(0);

    const gauges = byLabel(families.get('edgepulse_gauge'), 'name');
    expect([...gauges.keys()].sort()).toEqual(['cpu', 'queue.depth']);
    for (const [name, value] of gauges) {
      expect(value, name).toBe(live.gauges[name].last);
      // The report's latest bucket with samples ends with the same sample.
      const series = await get(ws, `stats/gauges?name=${name}&granularity=minute&range=24h`);
      const latest = series.points.filter((p: any) => p.samples > 0).at(-1);
      expect(latest.last, name).toBe(value);
    }

    const rooms = byLabel(families.get('edgepulse_room_participants'), 'room');
    expect(Object.fromEntries(rooms)).toEqual({ a: 3, b: 2, c: 1 });
    expect(Object.fromEntries(rooms)).toEqual(Object.fromEntries(live.rooms.map((x: any) => [x.room, x.current])));
    expect(single(families.get('edgepulse_rooms_in_use'))).toBe(3);
  });

  it('stays bounded with 10,000 rooms, 300 event types, 40 platforms and 120 gauge names; the busiest rooms are listed', async () => {
    const ws = await createWorkspace('metrics-big');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC', eventsPerSecond: LIMITS.eventsPerSecondMax };
    const now = Date.now() - 30_000;
    let n = 0;
    const ev = (type: string, extra: Partial<NormalizedEvent> = {}): NormalizedEvent => ({
      id: `b-${n++}`, type, ts: now + (n % 1000), receivedAt: now + 1000, userId: null, sessionId: null, room: null, durationMs: null,
      bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {}, ...extra,
    });
    const events: NormalizedEvent[] = [];
    for (let i = 0; i < 150; i++) events.push(ev('presence.join', { room: `room-${i}`, userId: `v${i}` }));
    for (let i = 0; i < 7; i++) events.push(ev('presence.join', { room: 'big-a', userId: `a${i}` }));
    for (let i = 0; i < 4; i++) events.push(ev('presence.join', { room: 'big-b', userId: `b${i}` }));
    for (let i = 0; i < 300; i++) events.push(ev(`type-${i}`, { userId: `t${i}`, context: { platform: `platform-${i % 40}` } }));
    for (let i = 0; i < 6; i++) {
      events.push(ev('server.tick', { gauges: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`g${i * 20 + k}`, i * 20 + k])) }));
    }
    const stub = hub(ws.id);
    for (let i = 0; i < events.length; i += 500) expect(await stub.ingest(ref, events.slice(i, i + 500))).toMatchObject({ accepted: Math.min(500, events.length - i) });
    expect(await flush(ws)).toBe(0);
    // 10,000 more rooms, straight into the hub's presence: through ingest each would also wake its RoomHub, minutes of work in this test pool.
    const crowd = Array.from({ length: 10_000 }, (_, i) => ev('presence.join', { room: `crowd-${i}`, userId: `c${i}`, ts: now - 5000 }));
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, (instance) => {
      const live = (instance as unknown as { live: { apply(events: NormalizedEvent[], seq: number): unknown; seq: number } }).live;
      live.apply(crowd, live.seq);
    });

    const { families, text } = await scrape(ws);
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const types = byLabel(families.get('edgepulse_events_total'), 'type');
    expect(types.size).toBe(LIMITS.metricsTypesMax + 1);
    expect([...types.values()].reduce((a, b) => a + b, 0)).toBe(events.length);
    expect(types.get('presence.join')).toBe(161);
    expect(types.has('_other')).toBe(true);
    expect(byLabel(families.get('edgepulse_online_users_by_platform'), 'platform').size).toBe(LIMITS.metricsPlatformsMax + 1);
    expect(byLabel(families.get('edgepulse_gauge'), 'name').size).toBe(LIMITS.liveGaugeNamesMax);
    const rooms = byLabel(families.get('edgepulse_room_participants'), 'room');
    expect(rooms.size).toBe(LIMITS.metricsRoomsMax);
    expect(rooms.get('big-a')).toBe(7);
    expect(rooms.get('big-b')).toBe(4);
    // Presence holds the most recently active rooms: all of them occupied.
    expect(single(families.get('edgepulse_rooms_in_use'))).toBe(LIMITS.liveRoomsMax);
    // Types ×2, platforms, gauges and rooms at their caps, plus a fixed number of single series and histogram lines.
    const bound = 2 * (LIMITS.metricsTypesMax + 1) + LIMITS.metricsPlatformsMax + 1 + LIMITS.liveGaugeNamesMax + LIMITS.metricsRoomsMax + 40;
    console.log(`/metrics with 10,000 rooms: ${series} series, ${text.length} bytes (bound ${bound})`);
    expect(series).toBeLessThanOrEqual(bound);
  }, 120_000);
});
