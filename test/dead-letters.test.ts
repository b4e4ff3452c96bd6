import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it, vi } from 'vitest';
import { fenceDrain, probeDrain, writeDrain } from '../src/history/drain-writer';
import { normalizeEvents } from '../src/ingest/normalize';
import type { NormalizedEvent } from '../src/ingest/types';
import { isTransient } from '../src/live/drain';
import { HubStore } from '../src/live/hub-store';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { archivedCount, archivedDistinct } from './archived';
import { call, countRows, createWorkspace, hub, makeEvents, type TestWorkspace } from './helpers';

const send = (ws: TestWorkspace, events: unknown[]) =>
  call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
const deadLetters = (ws: TestWorkspace, token = ws.keys.admin) => call('GET', `/api/v1/workspaces/${ws.slug}/dead-letters`, { token });
const retry = (ws: TestWorkspace, id: string) => call('POST', `/api/v1/workspaces/${ws.slug}/dead-letters/${id}/retry`, { token: ws.keys.admin });
const drop = (ws: TestWorkspace, id: string) => call('DELETE', `/api/v1/workspaces/${ws.slug}/dead-letters/${id}`, { token: ws.keys.admin });

/** Events counted in D1 (the day rollups' all-types total), or the rows of `table`. */
const rowsOf = (ws: TestWorkspace, table?: string) =>
  countRows(table ? `SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?` : `SELECT total(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day' AND type = '' AND dim = ''`, ws.id);
const distinctOf = (ws: TestWorkspace) => archivedDistinct(ws.id);
const rowsLike = (ws: TestWorkspace, prefix: string) => archivedCount(ws.id, (r) => r.id!.startsWith(`${prefix}-`));

/** A trigger that makes D1 refuse any batch holding an event of this workspace of type `poison.type`. */
async function poison(ws: TestWorkspace): Promise<() => Promise<void>> {
  const name = `poison_${ws.id.replace(/\W/g, '')}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON rollups WHEN NEW.workspace_id = '${ws.id}' AND NEW.type = 'poison.type' BEGIN SELECT RAISE(ABORT, 'poisoned for the test'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
  };
}

async function gauge(ws: TestWorkspace, name: string): Promise<number> {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/metrics`, { token: ws.keys.read });
  expect(res.status).toBe(200);
  return Number(parsePrometheusTextFormat(res.text).find((f) => f.name === name)?.metrics[0]?.value);
}

async function summaryEvents(ws: TestWorkspace, type?: string): Promise<number> {
  const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?range=24h${type ? `&type=${type}` : ''}`, { token: ws.keys.read });
  expect(res.status).toBe(200);
  return res.json.events;
}

/** Every id GET …/events answers (newest first, followed through its pages). */
async function eventIds(ws: TestWorkspace): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    ids.push(...res.json.events.map((e: { id: string }) => e.id));
    cursor = res.json.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

const poisonBatch = (prefix: string) => [
  { id: `${prefix}-0`, type: 'test.event', userId: 'u1' },
  { id: `${prefix}-1`, type: 'poison.type', userId: 'u2' },
  { id: `${prefix}-2`, type: 'poison.type', userId: 'u3' },
];

describe('a batch that cannot be written never blocks', () => {
  it('goes to the dead letters while the batches behind it reach history; retried once the fault is gone it arrives exactly once', async () => {
    const ws = await createWorkspace('dl');
    const heal = await poison(ws);
    try {
      // Five requests, five outbox batches, one drain: two of them hold events D1 refuses.
      for (const [prefix, events] of [
        ['before', makeEvents(100, 'before')],
        ['pa', poisonBatch('pa')],
        ['middle', makeEvents(50, 'middle')],
        ['pb', poisonBatch('pb')],
        ['after', makeEvents(100, 'after')],
      ] as const) {
        const res = await send(ws, [...events]);
        expect(res.status, prefix).toBe(202);
      }
      const sentAt = Date.now();
      // No flush: the alarm retries, sets the drain's batches apart, then sets the poisoned ones aside.
      await vi.waitFor(
        async () => {
          expect(await rowsOf(ws)).toBe(250);
          expect((await deadLetters(ws)).json.deadLetters).toHaveLength(2);
        },
        { timeout: 25_000, interval: 250 },
      );
      const tookMs = Date.now() - sentAt;
      console.log(`poisoned drain: the batches behind it in history and two dead letters ${tookMs} ms after the last request`);
      // The drain waits 2 s, fails twice (1 s apart), then each poisoned batch alone twice (0.5 s apart).
      expect(tookMs).toBeLessThan(15_000);
      expect((await hub(ws.id).usage()).pendingBatches).toBe(0);

      // Shown to an admin, with D1's error and a sample of the batch.
      const listed = await deadLetters(ws);
      expect(listed.status).toBe(200);
      expect(listed.json.total).toBe(2);
      const [a, b] = listed.json.deadLetters;
      for (const [letter, prefix] of [[a, 'pa'], [b, 'pb']] as const) {
        expect(letter.events).toBe(3);
        expect(letter.error).toContain('poisoned for the test');
        // Two drains of all five batches, then two of the batch alone.
        expect(letter.attempts).toBeGreaterThanOrEqual(4);
        expect(Date.parse(letter.firstFailedAt)).toBeLessThanOrEqual(Date.parse(letter.lastFailedAt));
        expect(letter.sample).toEqual([
          { id: `${prefix}-0`, type: 'test.event' },
          { id: `${prefix}-1`, type: 'poison.type' },
          { id: `${prefix}-2`, type: 'poison.type' },
        ]);
      }
      expect((await deadLetters(ws, ws.keys.read)).status).toBe(403);
      expect(await gauge(ws, 'edgepulse_dead_letter_batches')).toBe(2);
      expect(await gauge(ws, 'edgepulse_outbox_batches')).toBe(0);

      // History has every other batch, once: the event log and the reports.
      const ids = await eventIds(ws);
      expect(ids).toHaveLength(250);
      expect(new Set(ids).size).toBe(250);
      expect(ids.some((id) => id.startsWith('pa-') || id.startsWith('pb-'))).toBe(false);
      expect(await summaryEvents(ws)).toBe(250);
      expect(await distinctOf(ws)).toBe(250);

      // Still refused: the retry says so and the dead letter stays, one attempt more.
      const refused = await retry(ws, b.id);
      expect(refused.status).toBe(200);
      expect(refused.json).toMatchObject({ retried: true, result: 'failed' });
      expect(refused.json.error).toContain('poisoned for the test');
      const after = (await deadLetters(ws)).json.deadLetters.find((d: { id: string }) => d.id === b.id);
      expect(after.attempts).toBe(b.attempts + 1);

      // Dead letters are in the hub's own storage: they survive it being reset.
      await abortAllDurableObjects();
      expect((await deadLetters(ws)).json.deadLetters.map((d: { id: string }) => d.id)).toEqual([a.id, b.id]);
      expect(await gauge(ws, 'edgepulse_dead_letter_batches')).toBe(2);
    } finally {
      await heal();
    }

    // The fault is gone: the retry brings the batch in, exactly once, into D1 and the reports.
    const first = (await deadLetters(ws)).json.deadLetters[0];
    const done = await retry(ws, first.id);
    expect(done.status).toBe(200);
    expect(done.json).toEqual({ retried: true, result: 'drained' });
    expect(await rowsLike(ws, 'pa')).toBe(3);
    expect(await rowsOf(ws)).toBe(253);
    expect(await distinctOf(ws)).toBe(253);
    expect(await summaryEvents(ws)).toBe(253);
    expect(await summaryEvents(ws, 'poison.type')).toBe(2);
    // Once: it is gone, a second retry finds nothing.
    expect((await retry(ws, first.id)).status).toBe(404);
    expect(await rowsOf(ws)).toBe(253);

    // Dropping the other one loses its events for good.
    const second = (await deadLetters(ws)).json.deadLetters[0];
    expect((await drop(ws, second.id)).status).toBe(204);
    expect((await drop(ws, second.id)).status).toBe(404);
    expect((await deadLetters(ws)).json).toEqual({ deadLetters: [], total: 0 });
    expect(await gauge(ws, 'edgepulse_dead_letter_batches')).toBe(0);
    expect(await rowsLike(ws, 'pb')).toBe(0);
    // Its ids are still known: sending them again is answered as duplicates, not stored twice later.
    expect((await send(ws, poisonBatch('pb'))).json).toEqual({ accepted: 0, duplicates: 3 });
  });

  it('a retry whose write committed before (its answer lost) writes nothing twice', async () => {
    const ws = await createWorkspace('dl-twice');
    const heal = await poison(ws);
    try {
      expect((await send(ws, poisonBatch('lone'))).status).toBe(202);
      // A batch alone with nothing behind it is set aside too, once a probe drain shows D1 takes drains.
      await vi.waitFor(async () => expect((await deadLetters(ws)).json.deadLetters).toHaveLength(1), { timeout: 25_000, interval: 250 });
    } finally {
      await heal();
    }
    const [letter] = (await deadLetters(ws)).json.deadLetters;
    // Written to D1 under its id behind the hub's back, as a retry whose answer was lost would have.
    await runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (instance, state) => {
      const row = state.storage.sql.exec<{ events: string }>('SELECT events FROM dead_letters WHERE id = ?', letter.id).one();
      const ref = (instance as unknown as { workspace: { id: string; slug: string; timezone: string } }).workspace;
      await writeDrain(env.DB, ref, [{ batchId: letter.id, events: JSON.parse(row.events) as NormalizedEvent[] }], Date.now(), letter.id);
    });
    expect(await rowsOf(ws)).toBe(3);
    expect((await retry(ws, letter.id)).json).toEqual({ retried: true, result: 'drained' });
    expect(await rowsOf(ws)).toBe(3);
    expect(await summaryEvents(ws)).toBe(3);
    expect((await deadLetters(ws)).json.total).toBe(0);
  });

  it('D1 down for every batch sets nothing aside: all of them wait in the outbox and drain once D1 is back', async () => {
    const ws = await createWorkspace('dl-down');
    await env.DB.prepare('ALTER TABLE drain_log RENAME TO drain_log_gone').run();
    let restored = false;
    try {
      for (let i = 0; i < 3; i++) expect((await send(ws, makeEvents(40, `down${i}`))).status).toBe(202);
      const stub = hub(ws.id);
      // Past every threshold: the drain fails again and again, and the probe drain fails with it.
      for (let i = 0; i < 5; i++) await runDurableObjectAlarm(stub);
      const usage = await stub.usage();
      expect(usage.drainFailures).toBeGreaterThanOrEqual(5);
      expect(usage.pendingBatches).toBe(3);
      expect((await deadLetters(ws)).json.total).toBe(0);
      expect(await gauge(ws, 'edgepulse_dead_letter_batches')).toBe(0);
      // Nothing in D1, not even a fence: the drain was never given up.
      expect(await rowsOf(ws, 'drain_log_gone')).toBe(0);
      await env.DB.prepare('ALTER TABLE drain_log_gone RENAME TO drain_log').run();
      restored = true;
      // (drain.test.ts shows the backed-off alarm retrying by itself; here the retry is not waited for.)
      expect(await stub.flush()).toBe(0);
    } finally {
      if (!restored) await env.DB.prepare('ALTER TABLE drain_log_gone RENAME TO drain_log').run();
    }
    expect(await rowsOf(ws)).toBe(120);
    expect(await distinctOf(ws)).toBe(120);
    expect((await hub(ws.id).usage()).pendingBatches).toBe(0);
    expect((await deadLetters(ws)).json.total).toBe(0);
    expect(await rowsOf(ws, 'drain_log')).toBe(1);
  });

  it('answers 404 for an unknown dead letter and refuses keys other than admin', async () => {
    const ws = await createWorkspace('dl-404');
    expect((await retry(ws, 'no-such-batch')).status).toBe(404);
    expect((await drop(ws, 'no-such-batch')).status).toBe(404);
    expect((await retry(ws, 'no-such-batch')).json.error.code).toBe('not_found');
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/dead-letters/x/retry`, { token: ws.keys.ingest })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/dead-letters/x`, { token: ws.keys.read })).status).toBe(403);
    expect((await deadLetters(ws)).json).toEqual({ deadLetters: [], total: 0 });
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/dead-letters/${'x'.repeat(101)}/retry`, { token: ws.keys.admin })).status).toBe(400);
  });

  it('are in the OpenAPI document, dropping one said to lose its events for good', async () => {
    const paths = (await call('GET', '/api/v1/openapi.json')).json.paths;
    expect(paths['/api/v1/workspaces/{ws}/dead-letters'].get.description).toContain('probe');
    expect(paths['/api/v1/workspaces/{ws}/dead-letters/{id}/retry'].post.description).toContain('exactly once');
    expect(paths['/api/v1/workspaces/{ws}/dead-letters/{id}'].delete.summary).toContain('lost for good');
  });
});

describe('setting a drain apart never loses or doubles a batch', () => {
  it('a fenced drain cannot commit later, and a step that finishes a drain no longer in progress leaves the outbox alone', async () => {
    const ws = await createWorkspace('dl-fence');
    const ref = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const stub = env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(`fence-${Date.now()}`));
    await runInDurableObject(stub as DurableObjectStub<WorkspaceHub>, async (_i, state) => {
      const store = new HubStore(state.storage.sql, (fn) => state.storage.transactionSync(fn));
      for (const prefix of ['fa', 'fb']) {
        const out = normalizeEvents(makeEvents(20, prefix) as never, { now: Date.now() }, true);
        if (!out.ok) throw new Error(out.message);
        store.admit(out.value, Date.now());
      }
      const group = store.planDrain(5000)!;
      expect(group.batches).toHaveLength(2);
      // The probe drain commits nothing; the fence then stops any write under the drain's id.
      await probeDrain(env.DB, ref);
      await fenceDrain(env.DB, ref, group.id);
      store.isolate(group, Date.now());
      // A write of the drain still in flight: refused, nothing written; finishing it deletes nothing.
      expect((await writeDrain(env.DB, ref, group.batches, Date.now(), group.id)).rowsWritten).toBe(0);
      store.finishDrain(group);
      expect(store.pendingCount()).toBe(2);
      // Its batches now go one at a time, each under its own id.
      const solo = store.planDrain(5000)!;
      expect(solo).toMatchObject({ solo: true, id: group.batches[0].batchId });
      expect(solo.batches.map((b) => b.seq)).toEqual([group.batches[0].seq]);
      // A stale step setting the old drain aside does nothing either.
      store.setAside(group, 'stale', Date.now());
      expect(store.deadLetters.count()).toBe(0);
      await writeDrain(env.DB, ref, solo.batches, Date.now(), solo.id);
      store.finishDrain(solo);
      const next = store.planDrain(5000)!;
      expect(next).toMatchObject({ solo: true, id: group.batches[1].batchId });
      await writeDrain(env.DB, ref, next.batches, Date.now(), next.id);
      store.finishDrain(next);
      expect(store.pendingCount()).toBe(0);
    });
    expect(await rowsOf(ws)).toBe(40);
    expect(await archivedCount(null, (r) => r.type === 'edgepulse.probe')).toBe(0);
    expect(await countRows(`SELECT count(*) AS n FROM rollups WHERE workspace_id = ? AND type = 'edgepulse.probe'`, ws.id)).toBe(0);
    // writeDrain alone (no archive write): the rollups hold the 40, the raw readers (archive) do not.
    expect(await countRows(`SELECT sum(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'minute' AND type = '' AND dim = ''`, ws.id)).toBe(40);
    // The fence (its key and the key that marks it a fence) and the two batches; no probe.
    expect(await rowsOf(ws, 'drain_log')).toBe(4);
  });
});

describe('which failures are transient', () => {
  it('flags and network errors are never the batch’s fault', () => {
    expect(isTransient(Object.assign(new Error('D1_ERROR: boom'), { retryable: true }))).toBe(true);
    expect(isTransient(Object.assign(new Error('boom'), { overloaded: true }))).toBe(true);
    for (const m of ['Network connection lost.', 'D1 is unavailable', 'Connection reset by peer', 'D1_ERROR: timed out', 'D1 DB is overloaded. Too many requests queued.']) {
      expect(isTransient(new Error(m)), m).toBe(true);
    }
    for (const m of ['D1_ERROR: poisoned for the test: SQLITE_CONSTRAINT', 'D1_ERROR: no such table: events: SQLITE_ERROR', 'NOT NULL constraint failed: rollups.value']) {
      expect(isTransient(new Error(m)), m).toBe(false);
    }
  });
});
