import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../src/ingest/types';
import { HubStore } from '../src/live/hub-store';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { archivedCount, archivedDistinct } from './archived';
import { call, createWorkspace, flush, makeEvents } from './helpers';

describe('ingestion', () => {
  it('accepts a single event and reads it back after the drain', async () => {
    const ws = await createWorkspace();
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      body: { type: 'message.sent', userId: 'u_42', room: 'standup', durationMs: 12.5, properties: { plan: 'pro' } },
      headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1' },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: 1, duplicates: 0 });
    expect(await flush(ws)).toBe(0);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read });
    expect(read.status).toBe(200);
    expect(read.json.events).toHaveLength(1);
    const [event] = read.json.events;
    expect(event).toMatchObject({ type: 'message.sent', userId: 'u_42', room: 'standup', durationMs: 12.5, properties: { plan: 'pro' } });
    expect(event.context).toMatchObject({ platform: 'Web', browser: 'Safari', device: 'mobile' });
    expect(event.context.os).toMatch(/^iOS 18/);
  });

  it('stores the same 1,000 events once when sent twice and concurrently', async () => {
    const ws = await createWorkspace();
    const events = makeEvents(1000, 'dup');
    const send = (slice: typeof events) =>
      call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: slice } });
    const first = await Promise.all([0, 1].map((i) => send(events.slice(i * 500, i * 500 + 500))));
    expect(first.map((r) => r.json)).toEqual([{ accepted: 500, duplicates: 0 }, { accepted: 500, duplicates: 0 }]);
    const again = await Promise.all([0, 1, 0, 1].map((i) => send(events.slice(i * 500, i * 500 + 500))));
    expect(again.every((r) => r.status === 202 && r.json.accepted === 0 && r.json.duplicates === 500)).toBe(true);
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(1000);
    expect(await archivedDistinct(ws.id)).toBe(1000);
    // Still duplicates once drained: de-duplication does not live in the outbox.
    const late = await Promise.all([send(events.slice(0, 500)), send(events.slice(250, 750))]);
    expect(late.map((r) => r.json)).toEqual([{ accepted: 0, duplicates: 500 }, { accepted: 0, duplicates: 500 }]);
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(1000);
  });

  it('counts each of 1,000 ids once across overlapping concurrent requests, in-batch repeats and the collector', async () => {
    const ws = await createWorkspace();
    const events = makeEvents(1000, 'overlap');
    const send = (slice: typeof events) =>
      call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: slice } });
    // Eight concurrent requests, overlapping slices, one batch repeating its own ids.
    const slices = [[0, 400], [200, 600], [500, 900], [600, 1000], [0, 250], [750, 1000], [100, 500], [300, 700]];
    const bodies = slices.map(([a, b]) => events.slice(a, b));
    bodies[4] = [...bodies[4], ...bodies[4].slice(0, 100)];
    const sent = bodies.reduce((n, b) => n + b.length, 0);
    const answers = await Promise.all(bodies.map(send));
    expect(answers.every((r) => r.status === 202)).toBe(true);
    const accepted = answers.reduce((n, r) => n + r.json.accepted, 0);
    const duplicates = answers.reduce((n, r) => n + r.json.duplicates, 0);
    expect(accepted).toBe(1000);
    expect(duplicates).toBe(sent - 1000);
    // The collector shares the same memory of ids.
    const beacon = await call('POST', `/api/v1/collect?key=${ws.keys.ingest}`, { body: events[42] });
    expect(beacon.json).toEqual({ accepted: 0, duplicates: 1 });
    expect(await flush(ws)).toBe(0);
    expect(await archivedCount(ws.id)).toBe(1000);
    expect(await archivedDistinct(ws.id)).toBe(1000);
  });

  it('splits a large group commit into outbox rows under the 2 MB SQLite value limit, and checks ids in bounded chunks', async () => {
    const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`big-group-${Date.now()}`));
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, (_instance, state) => {
      const store = new HubStore(state.storage.sql, (fn) => state.storage.transactionSync(fn));
      const now = Date.now();
      const ev = (id: string, pad: number): NormalizedEvent => ({
        id, type: 't', ts: now, receivedAt: now, userId: null, sessionId: null, room: null, durationMs: null,
        bytesIn: null, bytesOut: null, error: null, value: null, properties: { pad: 'é'.repeat(pad) }, context: {},
      });
      // 26 requests of 500 (13,000 ids, more than one id chunk), ~2.5 MB of JSON in all.
      const requests = Array.from({ length: 26 }, (_, r) => Array.from({ length: 500 }, (_, i) => ev(`big-${r}-${i}`, 50)));
      let seqs = 0;
      const results = store.admitGroup(requests, now, (accepted, seq) => {
        expect(accepted).toHaveLength(13_000);
        seqs = seq;
      });
      expect(results.every((r) => r.accepted.length === 500 && r.duplicates === 0)).toBe(true);
      const rows = state.storage.sql.exec<{ seq: number; bytes: number }>(`SELECT seq, octet_length(events) AS bytes FROM outbox ORDER BY seq`).toArray();
      expect(rows.length).toBeGreaterThan(1);
      expect(rows.every((r) => r.bytes < 2_000_000)).toBe(true);
      expect(seqs).toBe(rows.at(-1)!.seq);
      // Every event is in the outbox once, in order, and every id is known afterwards.
      const drained = store.pending(100_000, 100_000_000).flatMap((b) => b.events.map((e) => e.id));
      expect(drained).toEqual(requests.flat().map((e) => e.id));
      const again = store.admitGroup(requests, now);
      expect(again.every((r) => r.accepted.length === 0 && r.duplicates === 500)).toBe(true);
    });
  });

  it('keeps ids for at least 7 days, with storage bounded by whole-day tables', async () => {
    const DAY = 86_400_000;
    const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`dedupe-window-${Date.now()}`));
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, (_instance, state) => {
      const store = new HubStore(state.storage.sql, (fn) => state.storage.transactionSync(fn));
      const ev = (id: string, ts: number): NormalizedEvent => ({
        id, type: 't', ts, receivedAt: ts, userId: null, sessionId: null, room: null, durationMs: null,
        bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
      });
      const admit = (id: string, at: number) => store.admit([ev(id, at)], at);
      const day0 = Date.UTC(2026, 0, 10);
      expect(admit('early', day0 + 1000).accepted).toHaveLength(1);
      expect(admit('late', day0 + DAY - 1000).accepted).toHaveLength(1);
      expect(admit('early', day0 + 3 * DAY).duplicates).toBe(1);
      expect(admit('early', day0 + 7 * DAY).duplicates).toBe(1);
      expect(admit('late', day0 + 8 * DAY - 2000).duplicates).toBe(1);
      // A month of daily traffic later, only the window's days are kept.
      for (let d = 8; d <= 40; d++) admit(`day${d}`, day0 + d * DAY);
      const tables = state.storage.sql.exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'seen_%'`).toArray();
      expect(tables.length).toBeLessThanOrEqual(9);
      expect(admit('early', day0 + 40 * DAY).accepted).toHaveLength(1);
      expect(admit('day39', day0 + 40 * DAY).duplicates).toBe(1);
    });
  });
});
