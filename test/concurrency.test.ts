import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { bucketStart } from '../src/history/time';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { bruteForce, MIN, mergeBuckets, minutesOf, prng, SEC, type Step } from './concurrency-brute';
import { call, createWorkspace, hub, type TestWorkspace } from './helpers';

// India (UTC+5:30): local hours start at :30 UTC, and the local day turns at 18:30 UTC inside the stream.
const TZ = 'Asia/Kolkata';
const T0 = Date.parse('2026-11-25T16:00:00.000Z');
const END = T0 + 4 * 60 * MIN;
const ROOMS = ['stage', 'lobby', 'backstage'];

/** Joiners join and leave (several rooms at once allowed); viewers heartbeat, sometimes too rarely; rooms sometimes finish; long quiet gaps. */
function generate(seed: number): Step[] {
  const rnd = prng(seed);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const steps: Step[] = [];
  let at = T0 + 7 * SEC;
  while (at < END - 30 * MIN) {
    const r = rnd();
    const room = pick(ROOMS);
    if (r < 0.4) steps.push({ at, kind: 'join', room, userId: `u${Math.floor(rnd() * 8)}` });
    else if (r < 0.7) steps.push({ at, kind: 'leave', room, userId: `u${Math.floor(rnd() * 8)}` });
    else if (r < 0.97) steps.push({ at, kind: 'heartbeat', room, userId: `v${Math.floor(rnd() * 4)}` });
    else steps.push({ at, kind: 'finish', room });
    // Mostly seconds apart, sometimes minutes, now and then a quiet quarter of an hour with people present.
    const gap = rnd() < 0.05 ? 15 * 60 : rnd() < 0.3 ? 60 + Math.floor(rnd() * 120) : 1 + Math.floor(rnd() * 40);
    at += gap * SEC;
  }
  return steps;
}

function toEvent(s: Step, i: number): NormalizedEvent {
  const type = s.kind === 'finish' ? 'room.finished' : `presence.${s.kind}`;
  return {
    id: `c${i}`, type, ts: s.at, receivedAt: s.at, userId: s.userId ?? null, sessionId: null, room: s.room, durationMs: null,
    bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
  };
}

async function series(ws: TestWorkspace, granularity: string, room?: string) {
  const qs = new URLSearchParams({ from: String(T0), to: String(END), granularity, metrics: 'concurrentUsers,participantMinutes' });
  if (room) qs.set('room', room);
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/timeseries?${qs}`, { token: ws.keys.read });
  expect(res.status, res.text).toBe(200);
  return res.json.points as Array<{ t: string; concurrentUsers: number; participantMinutes: number }>;
}

describe('concurrency history', () => {
  it('records per minute the most users present at once and participant time, workspace and rooms, equal to brute force per minute, hour and day', async () => {
    const ws = await createWorkspace('conc', { timezone: TZ });
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: TZ };
    const stub = hub(ws.id);
    const steps = generate(13);
    expect(steps.length).toBeGreaterThan(150);
    // The hub's clock follows the stream; before each event the hub does what its alarm would have done by then.
    for (const [i, s] of steps.entries()) {
      await stub.setClockForTest(s.at);
      await stub.tickForTest();
      expect(await stub.ingest(ref, [toEvent(s, i)])).toEqual({ accepted: 1, duplicates: 0 });
    }
    await stub.setClockForTest(END);
    await stub.tickForTest();
    expect(await stub.flush()).toBe(0);

    const exact = bruteForce(steps, T0, END);
    // The stream holds quiet minutes with people present: closed by the clock alone.
    const quiet = [...exact.get('')!.keys()].filter((m) => !steps.some((s) => s.at >= m && s.at < m + MIN));
    expect(quiet.length).toBeGreaterThan(30);
    for (const room of ['', ...ROOMS]) {
      const label = room || 'workspace';
      const byMinute = exact.get(room);
      expect(byMinute?.size, label).toBeGreaterThan(10);
      for (const [granularity, bucketOf] of [
        ['minute', (t: number) => t],
        ['hour', (t: number) => bucketStart(t, 'hour', TZ)],
        ['day', (t: number) => bucketStart(t, 'day', TZ)],
      ] as const) {
        const want = mergeBuckets(byMinute, bucketOf);
        const points = await series(ws, granularity, room || undefined);
        for (const p of points) {
          const w = want.get(Date.parse(p.t));
          expect({ t: p.t, max: p.concurrentUsers, minutes: p.participantMinutes }, `${label} ${granularity}`).toEqual({
            t: p.t, max: w?.maxUsers ?? 0, minutes: minutesOf(w?.participantMs ?? 0),
          });
        }
        // Every bucket with presence is in the answer (none outside the range, none lost).
        expect(points.filter((p) => p.concurrentUsers > 0).length, `${label} ${granularity} buckets`).toBe([...want.keys()].filter((t) => t >= bucketOf(T0)).length);
      }
    }
    // Two local days (the day turns at 18:30 UTC), and the peak is more than one viewer.
    const days = await series(ws, 'day');
    expect(days.filter((d) => d.concurrentUsers > 0)).toHaveLength(2);
    expect(Math.max(...days.map((d) => d.concurrentUsers))).toBeGreaterThan(3);

    // A drain repeated (a lost answer, a restart) writes the same values: nothing changes.
    const before = await env.DB.prepare(`SELECT grain, bucket, room, max_users, participant_ms FROM concurrency_rollups WHERE workspace_id = ? ORDER BY 1, 2, 3`).bind(ws.id).all();
    const minuteRows = await env.DB.prepare(`SELECT bucket AS minute, room, max_users AS maxUsers, participant_ms AS participantMs FROM concurrency_rollups WHERE workspace_id = ? AND grain = 'minute'`).bind(ws.id).all<any>();
    const { writeConcurrency } = await import('../src/history/concurrency-rollups');
    await writeConcurrency(env.DB, ref, minuteRows.results);
    const after = await env.DB.prepare(`SELECT grain, bucket, room, max_users, participant_ms FROM concurrency_rollups WHERE workspace_id = ? ORDER BY 1, 2, 3`).bind(ws.id).all();
    expect(after.results).toEqual(before.results);
  });

  it('keeps counting people present across a restart of the hub and closes their minutes without any event', async () => {
    const ws = await createWorkspace('conc-restart');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const stub = hub(ws.id);
    const t = Date.parse('2026-11-26T10:00:00.000Z');
    await stub.setClockForTest(t);
    await stub.ingest(ref, [
      toEvent({ at: t, kind: 'join', room: 'r', userId: 'a' }, 1),
      toEvent({ at: t + 30 * SEC, kind: 'join', room: 'r', userId: 'b' }, 2),
    ]);
    await stub.flush();
    // Durable Object storage keeps the snapshot: the restarted hub knows a and b are present.
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, async (instance) => (instance as unknown as { live: { saveIfDue(force: boolean): void } }).live.saveIfDue(true));
    await evictDurableObject(stub);
    const again = hub(ws.id);
    await again.setClockForTest(t + 10 * MIN);
    await again.tickForTest();
    await again.flush();
    const qs = new URLSearchParams({ from: String(t), to: String(t + 10 * MIN), granularity: 'minute', metrics: 'concurrentUsers,participantMinutes', room: 'r' });
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/timeseries?${qs}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(res.json.points.map((p: any) => p.concurrentUsers)).toEqual(Array(10).fill(2));
    expect(res.json.points.map((p: any) => p.participantMinutes)).toEqual([1.5, ...Array(9).fill(2)]);
  });

  it('never lets its minutes make a sound batch look poisoned: when they fail, events drain and the minutes follow alone', async () => {
    const ws = await createWorkspace('conc-fail');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const stub = hub(ws.id);
    const t = Date.parse('2026-11-27T08:00:00.000Z');
    await stub.setClockForTest(t);
    await stub.ingest(ref, [toEvent({ at: t, kind: 'join', room: 'r', userId: 'a' }, 1)]);
    expect(await stub.flush()).toBe(0);
    await stub.setClockForTest(t + 3 * MIN);
    await stub.tickForTest();
    await stub.ingest(ref, [{ ...toEvent({ at: t + 3 * MIN, kind: 'join', room: 'r', userId: 'a' }, 2), type: 'page' }]);
    // The table is away: every write of concurrency minutes fails.
    await env.DB.prepare(`ALTER TABLE concurrency_rollups RENAME TO concurrency_rollups_away`).run();
    try {
      for (let i = 0; i < 4 && (await stub.flush()) > 0; i++);
      expect(await stub.flush()).toBe(0);
    } finally {
      await env.DB.prepare(`ALTER TABLE concurrency_rollups_away RENAME TO concurrency_rollups`).run();
    }
    const dead = await call('GET', `/api/v1/workspaces/${ws.slug}/dead-letters`, { token: ws.keys.admin });
    expect(dead.json.deadLetters).toEqual([]);
    const summary = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?from=${t}&to=${t + 10 * MIN}`, { token: ws.keys.read });
    expect(summary.json.events).toBe(2);
    // Once D1 takes them again, the minutes follow.
    await stub.flush();
    const rows = await env.DB.prepare(`SELECT bucket, max_users AS n FROM concurrency_rollups WHERE workspace_id = ? AND grain = 'minute' AND room = 'r' ORDER BY bucket`).bind(ws.id).all();
    expect(rows.results).toEqual([0, 1, 2].map((m) => ({ bucket: t + m * MIN, n: 1 })));
  });

  it('bounds the work of a presence stamped long ago: only the last hours of the gap are recorded', async () => {
    const ws = await createWorkspace('conc-old');
    const ref: WorkspaceRef = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const stub = hub(ws.id);
    const now = Date.parse('2026-11-28T12:00:00.000Z');
    await stub.setClockForTest(now);
    // Joined in 2001 (a valid timestamp): 25 years of minutes must not be walked one by one.
    await stub.ingest(ref, [toEvent({ at: Date.parse('2001-01-01T00:00:00.000Z'), kind: 'join', room: 'r', userId: 'old' }, 1)]);
    const started = Date.now();
    await stub.tickForTest();
    await stub.flush();
    expect(Date.now() - started).toBeLessThan(10_000);
    const minutes = await env.DB.prepare(`SELECT bucket FROM concurrency_rollups WHERE workspace_id = ? AND grain = 'minute' AND room = 'r' ORDER BY bucket`).bind(ws.id).all<{ bucket: number }>();
    // The minute of the join, then the last six hours.
    expect(minutes.results.map((r) => r.bucket)).toEqual([Date.parse('2001-01-01T00:00:00.000Z'), ...Array.from({ length: 6 * 60 }, (_, i) => now - 6 * 60 * MIN + i * MIN)]);
  });

  it('is pruned like the other rollups: minutes after 48 hours, hours after 35 days, days kept', async () => {
    const ws = await createWorkspace('conc-prune');
    const now = Date.now();
    const put = (grain: string, bucket: number) =>
      env.DB.prepare(`INSERT INTO concurrency_rollups (workspace_id, grain, bucket, room, max_users, participant_ms) VALUES (?, ?, ?, '', 1, 60000)`).bind(ws.id, grain, bucket).run();
    const old = { minute: now - 49 * 60 * MIN, hour: now - 36 * 24 * 60 * MIN, day: now - 400 * 24 * 60 * MIN };
    for (const [grain, t] of Object.entries(old)) {
      await put(grain, Math.floor(t / MIN) * MIN);
      await put(grain, Math.floor(now / MIN) * MIN - 2 * MIN);
    }
    const { applyRetention } = await import('../src/history/retention');
    const result = await applyRetention(env.DB, now);
    expect(result.complete).toBe(true);
    expect(result.concurrencyRollups).toBeGreaterThanOrEqual(2);
    const left = await env.DB.prepare(`SELECT grain, count(*) AS n FROM concurrency_rollups WHERE workspace_id = ? GROUP BY grain ORDER BY grain`).bind(ws.id).all();
    expect(left.results).toEqual([{ grain: 'day', n: 2 }, { grain: 'hour', n: 1 }, { grain: 'minute', n: 1 }]);
  });

  it('refuses filters presence cannot answer, naming them', async () => {
    const ws = await createWorkspace('conc-bad');
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/timeseries?range=24h&metrics=concurrentUsers&platform=iOS`, { token: ws.keys.read });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.message).toMatch(/platform/);
  });
});
