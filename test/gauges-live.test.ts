import { env, evictDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import { LiveGauges } from '../src/live/gauges';
import { LIMITS } from '../src/shared/limits';
import { createWorkspace, hub } from './helpers';
import { rng } from './history-dataset';

const SEC = 1000;
const MIN = 60_000;
const T0 = Date.parse('2026-11-23T14:50:00.000Z');

function ev(id: string, at: number, gauges: Record<string, number> | undefined, extra: Partial<NormalizedEvent> = {}): NormalizedEvent {
  const e: NormalizedEvent = {
    id, type: 'server.tick', ts: at, receivedAt: at, userId: null, sessionId: null, room: null, durationMs: null,
    bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {}, ...extra,
  };
  if (gauges) e.gauges = gauges;
  return e;
}

interface Sample { name: string; v: number; ts: number; seq: number }

/** Every sample of the events, with the time the live windows use (event time clamped to its receipt) and its arrival order. */
function samplesOf(events: NormalizedEvent[]): Sample[] {
  let seq = 0;
  return events.flatMap((e) => Object.entries(e.gauges ?? {}).map(([name, v]) => ({ name, v, ts: Math.min(e.ts, e.receivedAt), seq: seq++ })));
}

/** Brute force of Stats.gauges: last by time (then arrival), and mean and max of the samples in the seconds (now − 60 s, now]. */
function bruteLive(samples: Sample[], now: number) {
  const out: Record<string, { last: number; avg1m: number; max1m: number }> = {};
  const nowSec = Math.floor(now / SEC);
  for (const name of [...new Set(samples.map((s) => s.name))].sort()) {
    const mine = samples.filter((s) => s.name === name);
    const lastTs = Math.max(...mine.map((s) => s.ts));
    if (lastTs < now - LIMITS.liveGaugeStaleMs) continue;
    const last = mine.filter((s) => s.ts === lastTs).sort((a, b) => b.seq - a.seq)[0]!.v;
    const win = mine.filter((s) => Math.floor(s.ts / SEC) > nowSec - 60 && Math.floor(s.ts / SEC) <= nowSec);
    out[name] = win.length
      ? { last, avg1m: win.reduce((a, s) => a + s.v, 0) / win.length, max1m: Math.max(...win.map((s) => s.v)) }
      : { last, avg1m: last, max1m: last };
  }
  return out;
}

function expectGauges(actual: Record<string, { last: number; avg1m: number; max1m: number }> | undefined, exact: ReturnType<typeof bruteLive>, what: string) {
  expect(Object.keys(actual ?? {}), what).toEqual(Object.keys(exact));
  for (const [name, g] of Object.entries(exact)) {
    const a = actual![name]!;
    expect(a.last, `${what} ${name} last`).toBe(g.last);
    expect(a.max1m, `${what} ${name} max1m`).toBe(g.max1m);
    expect(Math.abs(a.avg1m - g.avg1m), `${what} ${name} avg1m ${a.avg1m} vs ${g.avg1m}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(g.avg1m)));
  }
}

/** Events over the 90 minutes before T0 (denser in the last two), some late, some dated ahead of their receipt, in shuffled order. */
function generated(seed: number, n: number, room?: string): NormalizedEvent[] {
  const r = rng(seed);
  const names = ['cpu', 'memory.rss', 'queue-depth', 'tasks:inflight', 'buffering'];
  const events: NormalizedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const age = r() < 0.7 ? Math.floor(r() * 2 * MIN) : Math.floor(r() * 90 * MIN);
    const ts = T0 - age;
    const gauges: Record<string, number> = {};
    for (const name of names) if (r() < 0.5) gauges[name] = r() < 0.1 ? (r() < 0.5 ? -1 : 1) * Math.floor(r() * 1e15) : Math.round((r() * 200 - 50) * 1000) / 1000;
    const e = ev(`g-${seed}-${i}`, ts, Object.keys(gauges).length ? gauges : undefined, room ? { room } : {});
    // Some arrive late (received at T0) or are dated ahead of their receipt (counted at receipt).
    if (r() < 0.05) e.ts = e.receivedAt + Math.floor(r() * 4 * MIN);
    events.push(e);
  }
  return events;
}

describe('live gauges', () => {
  it('Stats.gauges equal brute force over generated events (last, 1-minute mean and max), slide with the clock and survive a restart', async () => {
    const ws = await createWorkspace('gauges-live');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    let stub = hub(ws.id);
    await stub.setClockForTest(T0);
    const events = generated(1, 900);
    for (let i = 0; i < events.length; i += 150) await stub.ingest(ref, events.slice(i, i + 150));
    const samples = samplesOf(events);
    expect(samples.length).toBeGreaterThan(1500);
    expectGauges((await stub.liveStats()).gauges, bruteLive(samples, T0), 'at T0');

    // Later: the minute window slides; without samples in it, avg1m and max1m are the held last value.
    for (const later of [T0 + 20 * SEC, T0 + 61 * SEC, T0 + 50 * MIN]) {
      await stub.setClockForTest(later);
      expectGauges((await stub.liveStats()).gauges, bruteLive(samples, later), `at T0+${later - T0}`);
    }
    // Quiet for over an hour: gone from the live view.
    await stub.setClockForTest(T0 + 2 * LIMITS.liveGaugeStaleMs);
    expect((await stub.liveStats()).gauges).toEqual({});

    await stub.setClockForTest(T0);
    const before = (await stub.liveStats()).gauges;
    await evictDurableObject(stub);
    stub = hub(ws.id);
    await stub.setClockForTest(T0);
    expect((await stub.liveStats()).gauges).toEqual(before);
  });

  it('a room’s live stats hold the gauges of its events', async () => {
    const ws = await createWorkspace('gauges-room');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const stub = hub(ws.id);
    await stub.setClockForTest(T0);
    const inRoom = generated(2, 200, 'stage');
    const elsewhere = generated(3, 200);
    await stub.ingest(ref, [...inRoom, ...elsewhere]);
    const room = env.ROOM_HUB.get(env.ROOM_HUB.idFromName(`${ws.id}/stage`));
    // The hub pushes to its rooms after the batch is durable, without waiting: poll.
    let stats = await room.liveSnapshot(ref, 'stage');
    for (let i = 0; i < 100 && stats.data.eventsToday < inRoom.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      stats = await room.liveSnapshot(ref, 'stage');
    }
    expectGauges(stats.data.gauges, bruteLive(samplesOf(inRoom), T0), 'room');
    expectGauges((await stub.liveStats()).gauges, bruteLive(samplesOf([...inRoom, ...elsewhere]), T0), 'workspace');
  });

  it('holds at most liveGaugeNamesMax names, dropping the one quiet the longest', async () => {
    const g = new LiveGauges();
    const n = LIMITS.liveGaugeNamesMax + 30;
    // g0 is sampled again late, so it outlives g1…g30.
    for (let i = 0; i < n; i++) {
      g.add(`g${i}`, i, T0 + i * SEC);
      if (i === 50) g.add('g0', -1, T0 + 50.5 * SEC);
    }
    const live = g.snapshot(T0 + n * SEC);
    expect(g.size).toBe(LIMITS.liveGaugeNamesMax);
    expect(Object.keys(live)).toHaveLength(LIMITS.liveGaugeNamesMax);
    expect(live.g0).toEqual({ last: -1, avg1m: -1, max1m: -1 });
    for (let i = 1; i <= 30; i++) expect(live[`g${i}`], `g${i}`).toBeUndefined();
    expect(live[`g${n - 1}`]).toEqual({ last: n - 1, avg1m: n - 1, max1m: n - 1 });
  });

  it('a snapshot of the most gauges held, sampled every second for an hour, stays a fraction of the live snapshot cap', () => {
    const g = new LiveGauges();
    for (let t = 0; t < 3600; t++) for (let i = 0; i < LIMITS.liveGaugeNamesMax; i++) g.add(`gauge.${i}`, Math.round(Math.random() * 1e6) / 1e3, T0 + t * SEC);
    const chars = JSON.stringify(g.toJSON()).length;
    console.log(`live gauges: ${LIMITS.liveGaugeNamesMax} names sampled every second: ${chars} characters in the snapshot (cap ${LIMITS.liveSnapshotMaxBytes})`);
    expect(chars).toBeLessThan(LIMITS.liveSnapshotMaxBytes);
    const back = LiveGauges.fromJSON(JSON.parse(JSON.stringify(g.toJSON())));
    expect(back.snapshot(T0 + 3600 * SEC)).toEqual(g.snapshot(T0 + 3600 * SEC));
    expect(back.window('gauge.7', T0 + 3600 * SEC, 60 * MIN)).toEqual(g.window('gauge.7', T0 + 3600 * SEC, 60 * MIN));
  });

  it('windows of alert rules: mean, min and max over the last N minutes equal brute force', () => {
    const r = rng(9);
    const g = new LiveGauges();
    const samples: Array<{ v: number; ts: number }> = [];
    for (let i = 0; i < 3000; i++) {
      const s = { v: Math.round(r() * 1e6) / 100, ts: T0 - Math.floor(r() * 75 * MIN) };
      samples.push(s);
      g.add('cpu', s.v, s.ts);
    }
    for (const minutes of [1, 5, 15, 60]) {
      const w = g.window('cpu', T0, minutes * MIN)!;
      const slot = minutes === 1 ? SEC : MIN;
      const nowSlot = Math.floor(T0 / slot);
      const inside = samples.filter((s) => Math.floor(s.ts / slot) > nowSlot - (minutes * MIN) / slot && Math.floor(s.ts / slot) <= nowSlot);
      expect(w.samples, `${minutes} min`).toBe(inside.length);
      expect(w.max).toBe(Math.max(...inside.map((s) => s.v)));
      expect(w.min).toBe(Math.min(...inside.map((s) => s.v)));
      expect(w.avg!).toBeCloseTo(inside.reduce((a, s) => a + s.v, 0) / inside.length, 6);
    }
    expect(g.window('nope', T0, MIN)).toBeNull();
  });
});
