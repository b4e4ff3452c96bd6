import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { archiveRowToEvent, readArchiveRange, workspacePrefix, type ArchiveBucket, type ArchiveRow } from '../src/archive';
import { fenceDrain } from '../src/history/drain-writer';
import { archiveSetKeys, writeArchiveSets } from '../src/live/drain-archive';
import type { DrainHost } from '../src/live/drain';
import type { HubStore } from '../src/live/hub-store';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { call, countRows, createWorkspace, flush, hub, makeEvents, type TestWorkspace } from './helpers';

const HOUR = 3_600_000;

const send = (ws: TestWorkspace, events: unknown[]) =>
  call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
const deadLetters = (ws: TestWorkspace) => call('GET', `/api/v1/workspaces/${ws.slug}/dead-letters`, { token: ws.keys.admin });
const retry = (ws: TestWorkspace, id: string) => call('POST', `/api/v1/workspaces/${ws.slug}/dead-letters/${id}/retry`, { token: ws.keys.admin });
const drop = (ws: TestWorkspace, id: string) => call('DELETE', `/api/v1/workspaces/${ws.slug}/dead-letters/${id}`, { token: ws.keys.admin });
/** Events counted in D1 (the day rollups' all-types total). */
const rowsOf = (ws: TestWorkspace) =>
  countRows(`SELECT total(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day' AND type = '' AND dim = ''`, ws.id);

/** Every event the archive holds for the workspace (the last three days), as the event log shows one. */
async function archived(ws: TestWorkspace) {
  const out = [];
  for await (const rows of readArchiveRange(env.ARCHIVE, ws.id, Date.now() - 3 * 24 * HOUR, Date.now() + HOUR)) {
    for (const row of rows) {
      const e = archiveRowToEvent(row as ArchiveRow);
      out.push({
        id: e.id, type: e.type, timestamp: new Date(e.ts).toISOString(), receivedAt: new Date(e.receivedAt).toISOString(),
        userId: e.userId, sessionId: e.sessionId, room: e.room, durationMs: e.durationMs, bytesIn: e.bytesIn, bytesOut: e.bytesOut,
        error: e.error, value: e.value, properties: e.properties, context: e.context,
      });
    }
  }
  return out;
}
const archivedIds = async (ws: TestWorkspace) => (await archived(ws)).map((e) => e.id).sort();
const objectCount = async (ws: TestWorkspace) => (await env.ARCHIVE.list({ prefix: workspacePrefix(ws.id) })).objects.length;

/** Every event GET …/events answers (followed through its pages). */
async function eventLog(ws: TestWorkspace): Promise<Array<{ id: string }>> {
  const events: Array<{ id: string }> = [];
  let cursor: string | undefined;
  do {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?range=7d&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    events.push(...res.json.events);
    cursor = res.json.nextCursor ?? undefined;
  } while (cursor);
  return events;
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** The hub's drain host (its bucket can be wrapped) and store, inside the object. */
function inHub<T>(ws: TestWorkspace, fn: (host: DrainHost, store: HubStore) => T | Promise<T>): Promise<T> {
  return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => {
    const drain = (instance as unknown as { drain: { host: DrainHost } }).drain;
    return fn(drain.host, drain.host.store);
  });
}

/** A fault injector around the real bucket: its first `failures` puts throw as R2 would when unreachable. */
function failingPuts(bucket: ArchiveBucket, failures: number) {
  const state = { failed: 0, puts: 0 };
  const wrapped: ArchiveBucket = {
    get: bucket.get.bind(bucket),
    head: bucket.head.bind(bucket),
    list: bucket.list.bind(bucket),
    delete: bucket.delete.bind(bucket),
    put: ((...args: Parameters<R2Bucket['put']>) => {
      if (state.failed < failures) {
        state.failed++;
        return Promise.reject(new Error('R2 put: service unavailable (injected)'));
      }
      state.puts++;
      return bucket.put(...args);
    }) as R2Bucket['put'],
  };
  return { wrapped, state };
}

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

const poisonBatch = (prefix: string) => [
  { id: `${prefix}-0`, type: 'test.event', userId: 'u1' },
  { id: `${prefix}-1`, type: 'poison.type', userId: 'u2' },
];

describe('the drain writes the archive', () => {
  it('holds exactly the acknowledged events, with the fields the event log shows', async () => {
    const ws = await createWorkspace('arch-drain');
    const now = Date.now();
    // Timestamps over several hours and across a day: one object per hour touched.
    const rich = Array.from({ length: 60 }, (_, i) => ({
      id: `rich-${i}`, type: i % 3 ? 'page.view' : 'call.ended', userId: `u${i % 5}`, sessionId: `s${i % 4}`,
      room: i % 2 ? `room-${i % 3}` : undefined, timestamp: new Date(now - (i % 6) * 5 * HOUR - i * 1000).toISOString(),
      durationMs: i % 4 ? i * 10 : undefined, bytesIn: i, bytesOut: 2 * i, value: i % 5 ? i / 4 : undefined,
      error: i % 7 === 0 ? 'boom' : undefined, properties: { plan: i % 2 ? 'pro' : 'free', n: i, ok: i % 3 === 0 },
    }));
    const res = await send(ws, rich);
    expect(res.status, res.text).toBe(202);
    expect((await send(ws, makeEvents(40, 'plain'))).status).toBe(202);
    // Duplicates are acknowledged but not stored twice.
    expect((await send(ws, makeEvents(10, 'plain'))).json).toEqual({ accepted: 0, duplicates: 10 });
    expect(await flush(ws)).toBe(0);

    const inArchive = await archived(ws);
    expect(inArchive.map((e) => e.id).sort()).toEqual([...ids('rich', 60), ...ids('plain', 40)].sort());
    const log = await eventLog(ws);
    expect(log).toHaveLength(100);
    const byId = new Map(inArchive.map((e) => [e.id, e]));
    for (const event of log) expect(byId.get(event.id), event.id).toEqual(event);
    expect(await objectCount(ws)).toBeGreaterThanOrEqual(6);
    expect((await hub(ws.id).usage()).archivePuts).toBe(await objectCount(ws));
  });

  it('R2 failing delays the drain (never a dead letter) and loses nothing; the retry leaves each event once', async () => {
    const ws = await createWorkspace('arch-r2down');
    expect((await send(ws, makeEvents(30, 'r2a', { timestamp: new Date(Date.now() - 2 * HOUR).toISOString() }))).status).toBe(202);
    expect((await send(ws, makeEvents(30, 'r2b'))).status).toBe(202);
    // Two hours touched, two objects per try: the first try writes one and fails on the other, then five fail whole.
    await inHub(ws, (host) => {
      host.bucket = failingPuts(host.bucket, 11).wrapped;
    });
    const stub = hub(ws.id);
    for (let i = 0; i < 6; i++) await runDurableObjectAlarm(stub);
    const usage = await stub.usage();
    expect(usage.archivePuts).toBe(0);
    expect(usage.pendingBatches).toBe(2);
    expect(usage.drainFailures).toBeGreaterThanOrEqual(6);
    // Nothing reached D1 before the archive had it, and nothing was set aside.
    expect(await rowsOf(ws)).toBe(0);
    expect((await deadLetters(ws)).json.total).toBe(0);
    // R2 is back (the wrapper lets puts through): the same drain id writes the same two keys.
    expect(await flush(ws)).toBe(0);
    expect((await stub.usage()).archivePuts).toBe(2);
    expect(await archivedIds(ws)).toEqual([...ids('r2a', 30), ...ids('r2b', 30)].sort());
    expect(await rowsOf(ws)).toBe(60);
    expect(await objectCount(ws)).toBe(2);
  });

  it('a crash between the archive write and the outbox delete leaves each event in one file', async () => {
    const ws = await createWorkspace('arch-crash');
    expect((await send(ws, makeEvents(50, 'cra'))).status).toBe(202);
    expect((await send(ws, makeEvents(50, 'crb'))).status).toBe(202);
    // The drain's archive objects written, then the D1 commit, then the hub dies before its outbox delete.
    await inHub(ws, async (host, store) => {
      const plan = store.planDrain(5000)!;
      const workspace = host.workspace()!;
      await host.sync();
      await writeArchiveSets(host.bucket, workspace.id, [{ name: plan.id, events: plan.batches.flatMap((b) => b.events) }]);
    });
    await abortAllDurableObjects();
    expect(await archivedIds(ws)).toEqual([...ids('cra', 50), ...ids('crb', 50)].sort());
    // After the restart the same drain (same id) writes the same object again, then D1.
    expect(await flush(ws)).toBe(0);
    expect(await archivedIds(ws)).toEqual([...ids('cra', 50), ...ids('crb', 50)].sort());
    expect(await objectCount(ws)).toBe(1);
    expect(await rowsOf(ws)).toBe(100);
  });

  it('a poisoned batch is not in the archive while it is a dead letter; retried, it is there once; dropped, never', async () => {
    const ws = await createWorkspace('arch-dl');
    const heal = await poison(ws);
    try {
      for (const events of [makeEvents(40, 'before'), poisonBatch('pa'), makeEvents(20, 'middle'), poisonBatch('pb'), makeEvents(40, 'after')]) {
        expect((await send(ws, events)).status).toBe(202);
      }
      // The drain of all five fails, is fenced, its batches go one by one, the poisoned ones are set aside.
      await vi.waitFor(async () => expect((await deadLetters(ws)).json.total).toBe(2), { timeout: 25_000, interval: 250 });
      await vi.waitFor(async () => expect((await hub(ws.id).usage()).pendingBatches).toBe(0), { timeout: 25_000, interval: 250 });
      await vi.waitFor(async () => expect(await inHub(ws, (_h, store) => store.archiveDeletes.pending())).toEqual([]), { timeout: 10_000, interval: 250 });
      // Once each: the fenced drain's object (holding all five batches) is gone.
      expect(await archivedIds(ws)).toEqual([...ids('before', 40), ...ids('middle', 20), ...ids('after', 40)].sort());
      expect(await objectCount(ws)).toBe(3);
      // Still refused: the retry's object does not stay behind either.
      const [a, b] = (await deadLetters(ws)).json.deadLetters;
      expect((await retry(ws, a.id)).json).toMatchObject({ retried: true, result: 'failed' });
      expect(await archivedIds(ws)).toHaveLength(100);
      expect(await objectCount(ws)).toBe(3);
      void b;
    } finally {
      await heal();
    }
    const [a, b] = (await deadLetters(ws)).json.deadLetters;
    expect((await retry(ws, a.id)).json).toEqual({ retried: true, result: 'drained' });
    expect(await archivedIds(ws)).toEqual([...ids('before', 40), ...ids('middle', 20), ...ids('after', 40), ...ids('pa', 2)].sort());
    expect((await drop(ws, b.id)).status).toBe(204);
    expect(await archivedIds(ws)).toHaveLength(102);
    expect(await objectCount(ws)).toBe(4);
    expect(await rowsOf(ws)).toBe(102);
  }, 60_000);

  it('a dead letter retry cut short by a crash leaves no copy behind; the next retry writes it once', async () => {
    const ws = await createWorkspace('arch-dl-crash');
    const heal = await poison(ws);
    try {
      expect((await send(ws, poisonBatch('lone'))).status).toBe(202);
      await vi.waitFor(async () => expect((await deadLetters(ws)).json.total).toBe(1), { timeout: 25_000, interval: 250 });
    } finally {
      await heal();
    }
    const [letter] = (await deadLetters(ws)).json.deadLetters;
    await vi.waitFor(async () => expect(await objectCount(ws)).toBe(0), { timeout: 10_000, interval: 250 });
    // As the retry does up to its D1 write: recorded for deletion, the object written; then the hub dies.
    await inHub(ws, async (host, store) => {
      const events = store.deadLetters.events(letter.id)!;
      const sets = [{ name: letter.id, events }];
      store.archiveDeletes.add(archiveSetKeys(host.workspace()!.id, sets));
      await host.sync();
      await writeArchiveSets(host.bucket, host.workspace()!.id, sets);
    });
    expect(await objectCount(ws)).toBe(1);
    await abortAllDurableObjects();
    // The restarted hub's alarm deletes it: a dead letter is in no file.
    await hub(ws.id).usage();
    await runDurableObjectAlarm(hub(ws.id));
    await vi.waitFor(async () => expect(await objectCount(ws)).toBe(0), { timeout: 10_000, interval: 250 });
    expect((await retry(ws, letter.id)).json).toEqual({ retried: true, result: 'drained' });
    expect(await archivedIds(ws)).toEqual(ids('lone', 2));
    // Drained for good: nothing deletes it later.
    await runDurableObjectAlarm(hub(ws.id));
    expect(await archivedIds(ws)).toEqual(ids('lone', 2));
  }, 60_000);

  it('a drain fenced after its object was written, then drained batch by batch, leaves no duplicates', async () => {
    const ws = await createWorkspace('arch-fence');
    const heal = await poison(ws);
    try {
      expect((await send(ws, makeEvents(30, 'fa'))).status).toBe(202);
      expect((await send(ws, poisonBatch('fp'))).status).toBe(202);
      expect((await send(ws, makeEvents(30, 'fb'))).status).toBe(202);
      // R2 takes the drain's object; D1 refuses the drain (the poisoned batch), twice: fenced, isolated.
      const stub = hub(ws.id);
      await runDurableObjectAlarm(stub);
      expect(await archivedIds(ws)).toHaveLength(62);
      await runDurableObjectAlarm(stub);
      await vi.waitFor(async () => expect((await deadLetters(ws)).json.total).toBe(1), { timeout: 25_000, interval: 250 });
      await vi.waitFor(async () => expect((await stub.usage()).pendingBatches).toBe(0), { timeout: 25_000, interval: 250 });
    } finally {
      await heal();
    }
    await vi.waitFor(async () => expect(await archivedIds(ws)).toEqual([...ids('fa', 30), ...ids('fb', 30)].sort()), { timeout: 10_000, interval: 250 });
    expect(await objectCount(ws)).toBe(2);
    expect(await rowsOf(ws)).toBe(60);
  }, 60_000);

  it('a hub that dies after fencing its drain, before setting its batches apart, drains them one by one after the restart, each once', async () => {
    const ws = await createWorkspace('arch-fence-crash');
    for (const p of ['ka', 'kb', 'kc']) expect((await send(ws, makeEvents(20, p))).status).toBe(202);
    // As the drain does up to the fence: archive objects under the drain's id, then the fence in D1; then the hub dies.
    await inHub(ws, async (host, store) => {
      const plan = store.planDrain(5000)!;
      expect(plan.batches).toHaveLength(3);
      await host.sync();
      await writeArchiveSets(host.bucket, ws.id, [{ name: plan.id, events: plan.batches.flatMap((b) => b.events) }]);
      await fenceDrain(env.DB, host.workspace()!, plan.id);
    });
    await abortAllDurableObjects();
    expect(await objectCount(ws)).toBe(1);
    // The same drain id again: D1 says it was fenced, not committed, so its batches go one by one.
    expect(await flush(ws)).toBe(0);
    const all = [...ids('ka', 20), ...ids('kb', 20), ...ids('kc', 20)].sort();
    expect(await rowsOf(ws)).toBe(60);
    expect(await archivedIds(ws)).toEqual(all);
    expect(await objectCount(ws)).toBe(3);
  });
});
