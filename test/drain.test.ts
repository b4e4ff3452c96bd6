import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it, vi } from 'vitest';
import { writeDrain, type DrainBatch } from '../src/history/drain-writer';
import { normalizeEvents } from '../src/ingest/normalize';
import type { NormalizedEvent } from '../src/ingest/types';
import { DRAIN_MAX_BYTES, HubStore } from '../src/live/hub-store';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { archivedDistinct } from './archived';
import { call, countRows, createWorkspace, flush, hub, makeEvents, type TestWorkspace } from './helpers';

const send = (ws: TestWorkspace, events: unknown[]) =>
  call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });

/** Events counted in D1 (the day rollups' all-types total): exactly once means this equals the events sent. */
const countedOf = (ws: TestWorkspace) =>
  countRows(`SELECT total(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day' AND type = '' AND dim = ''`, ws.id);
const rowsOf = (ws: TestWorkspace, table?: string) => (table ? countRows(`SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?`, ws.id) : countedOf(ws));
const distinctOf = (ws: TestWorkspace) => archivedDistinct(ws.id);

/** The hub's own view: scheduled alarm and outbox attempts, read inside the object. */
async function hubState(ws: TestWorkspace) {
  return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (_instance, state) => ({
    alarm: await state.storage.getAlarm(),
    attempts: state.storage.sql.exec<{ attempts: number }>('SELECT attempts FROM outbox ORDER BY seq').toArray().map((r) => r.attempts),
  }));
}

function normalized(n: number, prefix: string): NormalizedEvent[] {
  const out = normalizeEvents(makeEvents(n, prefix).map((e) => ({ ...e, properties: { i: e.id } })) as never, { now: Date.now() }, true);
  if (!out.ok) throw new Error(out.message);
  return out.value;
}

/** The drain-health gauges of GET …/metrics. */
async function drainGauges(ws: TestWorkspace): Promise<Record<string, number>> {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/metrics`, { token: ws.keys.read });
  expect(res.status).toBe(200);
  const families = parsePrometheusTextFormat(res.text);
  const value = (name: string) => Number(families.find((f) => f.name === name)?.metrics[0]?.value);
  return { batches: value('edgepulse_outbox_batches'), lag: value('edgepulse_outbox_lag_seconds'), failures: value('edgepulse_drain_failures') };
}

describe('a failed drain is retried and ends with every event in D1 exactly once', () => {
  it('survives D1 being unavailable (a table gone: drain_log, which every drain and the probe write), backs off, and drains by itself once it is back', async () => {
    const ws = await createWorkspace('drain-down');
    await env.DB.prepare('ALTER TABLE drain_log RENAME TO drain_log_off').run();
    let restored = false;
    try {
      for (let i = 0; i < 3; i++) {
        const res = await send(ws, makeEvents(100, `down${i}`));
        expect(res.status).toBe(202);
        expect(res.json).toEqual({ accepted: 100, duplicates: 0 });
      }
      const stub = hub(ws.id);
      await runDurableObjectAlarm(stub);
      const first = await stub.usage();
      expect(first.drainFailures).toBeGreaterThanOrEqual(1);
      expect(first.pendingBatches).toBe(3);
      // Operators see it: the backlog, its age and the failures in a row, on /metrics.
      const stuck = await drainGauges(ws);
      expect(stuck.batches).toBe(3);
      expect(stuck.lag).toBeGreaterThan(0);
      expect(stuck.failures).toBe(first.drainFailures);
      const afterFirst = await hubState(ws);
      expect(afterFirst.attempts.every((a) => a >= 1)).toBe(true);
      expect(afterFirst.alarm).not.toBeNull();

      // A second failure backs off further.
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      const second = await stub.usage();
      expect(second.drainFailures).toBeGreaterThan(first.drainFailures);
      expect(second.pendingBatches).toBe(3);
      const afterSecond = await hubState(ws);
      expect(afterSecond.alarm! - Date.now()).toBeGreaterThan(1000);

      // Nothing reached D1, not even the drain log: the failed transaction left no trace.
      expect(await rowsOf(ws)).toBe(0);
      expect(await rowsOf(ws, 'drain_log_off')).toBe(0);

      await env.DB.prepare('ALTER TABLE drain_log_off RENAME TO drain_log').run();
      restored = true;
      // No flush: the backed-off alarm retries on its own.
      await vi.waitFor(async () => expect(await rowsOf(ws)).toBe(300), { timeout: 15_000, interval: 200 });
    } finally {
      if (!restored) await env.DB.prepare('ALTER TABLE drain_log_off RENAME TO drain_log').run();
    }
    expect(await distinctOf(ws)).toBe(300);
    expect((await hub(ws.id).usage()).pendingBatches).toBe(0);
    expect((await hub(ws.id).usage()).drainFailures).toBe(0);
    expect(await drainGauges(ws)).toEqual({ batches: 0, lag: 0, failures: 0 });
    // One drain_log row for the drain that took the three batches, retried under the same id.
    expect(await rowsOf(ws, 'drain_log')).toBe(1);
  });

  it('survives a statement failing in the middle of a drain: nothing partial is committed', async () => {
    const ws = await createWorkspace('drain-poison');
    const trigger = `poison_${ws.id.replace(/\W/g, '')}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON rollups WHEN NEW.workspace_id = '${ws.id}' AND NEW.type = 'poison.type' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`,
    ).run();
    try {
      expect((await send(ws, makeEvents(400, 'clean'))).status).toBe(202);
      expect((await send(ws, makeEvents(100, 'poison', { type: 'poison.type' }))).status).toBe(202);
      expect(await flush(ws)).toBe(2);
      expect(await rowsOf(ws)).toBe(0);
      expect(await rowsOf(ws, 'drain_log')).toBe(0);
      expect((await hub(ws.id).usage()).drainFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
    }
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(500);
    expect(await distinctOf(ws)).toBe(500);
  });
});

describe('a drain never doubles anything', () => {
  it('writeDrain run twice with the same batches (commit made, outbox delete lost) writes once', async () => {
    const ws = await createWorkspace('drain-twice');
    const ref = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const a: DrainBatch = { batchId: crypto.randomUUID(), events: normalized(250, 'wa') };
    const b: DrainBatch = { batchId: crypto.randomUUID(), events: normalized(150, 'wb') };
    const first = await writeDrain(env.DB, ref, [a]);
    expect(first.rowsWritten).toBeGreaterThan(0);
    const again = await writeDrain(env.DB, ref, [a]);
    expect(again.rowsWritten).toBe(0);
    expect(await rowsOf(ws)).toBe(250);
    // A retry holding a drained batch and a new one writes only the new one.
    await writeDrain(env.DB, ref, [a, b]);
    await writeDrain(env.DB, ref, [b, a]);
    expect(await rowsOf(ws)).toBe(400);
    expect(await countRows(`SELECT count(*) AS n FROM drain_log WHERE workspace_id = ?`, ws.id)).toBe(2);
  });

  it('the hub’s own outbox, drained to D1 behind its back, is not written again by the next drain', async () => {
    const ws = await createWorkspace('drain-lost-ack');
    expect((await send(ws, makeEvents(300, 'lost'))).status).toBe(202);
    expect((await send(ws, makeEvents(200, 'lost2'))).status).toBe(202);
    // Plan and commit a drain to D1 as the hub does, without finishing it, as if its answer was lost.
    await runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (instance) => {
      const store = (instance as unknown as { store: HubStore }).store;
      const plan = store.planDrain(5000)!;
      expect(plan.batches).toHaveLength(2);
      expect(plan.perBatch).toBe(false);
      const ref = (instance as unknown as { workspace: { id: string; slug: string; timezone: string } }).workspace;
      await writeDrain(env.DB, ref, plan.batches, Date.now(), plan.id);
    });
    expect(await rowsOf(ws)).toBe(500);
    expect((await hub(ws.id).usage()).pendingBatches).toBe(2);
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(500);
    expect(await distinctOf(ws)).toBe(500);
    expect(await rowsOf(ws, 'drain_log')).toBe(1);
  });

  it('outbox batches from before per-drain ids (logged per batch) are not written again either', async () => {
    const ws = await createWorkspace('drain-legacy');
    expect((await send(ws, makeEvents(300, 'leg'))).status).toBe(202);
    expect((await send(ws, makeEvents(200, 'leg2'))).status).toBe(202);
    await runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (instance, state) => {
      // As the earlier code did: each batch logged under its own id, committed, outbox delete lost.
      const rows = state.storage.sql.exec<{ batch_id: string; events: string }>('SELECT batch_id, events FROM outbox ORDER BY seq').toArray();
      const ref = (instance as unknown as { workspace: { id: string; slug: string; timezone: string } }).workspace;
      await writeDrain(env.DB, ref, rows.map((r) => ({ batchId: r.batch_id, events: JSON.parse(r.events) })));
      // The hub was upgraded with these batches in its outbox.
      const store = (instance as unknown as { store: HubStore }).store;
      store.setMeta('perBatchUpTo', state.storage.sql.exec<{ s: number }>('SELECT max(seq) AS s FROM outbox').one().s);
    });
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(500);
    expect(await distinctOf(ws)).toBe(500);
  });

  it('concurrent drains of the same outbox (flushes racing the alarm) write each event once', async () => {
    const ws = await createWorkspace('drain-race');
    await Promise.all([0, 1, 2, 3].map((i) => send(ws, makeEvents(250, `race${i}`))));
    const stub = hub(ws.id);
    await Promise.all([stub.flush(), stub.flush(), runDurableObjectAlarm(stub), stub.flush()]);
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(1000);
    expect(await distinctOf(ws)).toBe(1000);
  });
});

describe('a drain is bounded', () => {
  it('takes the oldest batches up to a byte budget, at least one', async () => {
    const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`bounded-${Date.now()}`));
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, (_i, state) => {
      const store = new HubStore(state.storage.sql, (fn) => state.storage.transactionSync(fn));
      const now = Date.now();
      for (let b = 0; b < 10; b++) {
        const events = normalized(10, `bb${b}`).map((e) => ({ ...e, properties: { pad: 'x'.repeat(990) } }));
        store.admit(events, now);
      }
      const one = JSON.stringify(store.pending(1)[0].events).length;
      expect(store.pending(5000, 3 * one + 100).map((b) => b.events[0].id)).toEqual(['bb0-0', 'bb1-0', 'bb2-0']);
      expect(store.pending(5000, 1)).toHaveLength(1);
      expect(store.pending(25)).toHaveLength(2);
      expect(store.pending(5000)).toHaveLength(10);
    });
  });

  it('drains megabytes of big events in several bounded drains, each event once', async () => {
    const ws = await createWorkspace('drain-big');
    // Ten requests of 30 events near 29 KiB each: about 9 MB, more than one drain's budget.
    const big = (r: number) => Array.from({ length: 30 }, (_, i) => ({ id: `big${r}-${i}`, type: 'big', properties: Object.fromEntries(Array.from({ length: 29 }, (_, k) => [`k${k}`, 'v'.repeat(1000)])) }));
    for (let r = 0; r < 10; r++) expect((await send(ws, big(r))).status).toBe(202);
    const budgets = await runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => {
      const store = (instance as unknown as { store: HubStore }).store;
      const batches = store.pending(5000);
      return { taken: batches.length, chars: batches.reduce((n, b) => n + JSON.stringify(b.events).length, 0), waiting: store.pendingCount() };
    });
    // Whatever the alarm drained already, one drain takes no more than the budget.
    expect(budgets.chars).toBeLessThanOrEqual(DRAIN_MAX_BYTES + 1000);
    if (budgets.waiting === 10) expect(budgets.taken).toBeLessThan(10);
    expect(await flush(ws)).toBe(0);
    expect(await rowsOf(ws)).toBe(300);
    expect(await distinctOf(ws)).toBe(300);
  });
});

describe('the drain runs by itself', () => {
  it('an acknowledged event is readable through GET …/events within 5 s, without a flush', async () => {
    const ws = await createWorkspace('drain-auto');
    const sent = Date.now();
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { id: 'auto-1', type: 'auto.drain' } });
    expect(res.status).toBe(202);
    let seenAfter = Infinity;
    await vi.waitFor(
      async () => {
        const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read });
        expect(read.json.events.map((e: { id: string }) => e.id)).toEqual(['auto-1']);
        seenAfter = Date.now() - sent;
      },
      { timeout: 5_000, interval: 100 },
    );
    expect(seenAfter).toBeLessThan(5_000);
  });

  it('an acknowledged batch survives the hub being reset before its drain', async () => {
    const ws = await createWorkspace('drain-crash');
    expect((await send(ws, makeEvents(200, 'crash'))).json).toEqual({ accepted: 200, duplicates: 0 });
    // Throws away every object's memory, as a crash would; the outbox and the alarm are on disk.
    await abortAllDurableObjects();
    await vi.waitFor(async () => expect(await rowsOf(ws)).toBe(200), { timeout: 5_000, interval: 100 });
    // And the de-duplication records survived too.
    expect((await send(ws, makeEvents(200, 'crash'))).json).toEqual({ accepted: 0, duplicates: 200 });
    expect(await flush(ws)).toBe(0);
    expect(await distinctOf(ws)).toBe(200);
    expect(await rowsOf(ws)).toBe(200);
  });
});
