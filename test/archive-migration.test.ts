import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { archiveRowToEvent, readArchiveRange, workspacePrefix, type ArchiveRow } from '../src/archive';
import { dropIfMigrated, MIGRATION_JOB, runArchiveMigration, type MigrationRun } from '../src/history/archive-migration';
import { probeDrain } from '../src/history/drain-writer';
import type { NormalizedEvent } from '../src/ingest/types';
import worker from '../src/index';
import { extremeEvents, realisticEvents } from './archive-events';
import { call, countRows, createWorkspace, flush, makeEvents, ROOT, type TestWorkspace } from './helpers';

/** Raw rows as the drain of an older installation wrote them into D1's events table. */
function legacyInserts(workspaceId: string, events: NormalizedEvent[]): D1PreparedStatement[] {
  return events.map((e) =>
    env.DB.prepare(`INSERT INTO events (workspace_id, ts, id, type, received_at, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, properties, context)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(
      workspaceId, e.ts, e.id, e.type, e.receivedAt, e.userId, e.sessionId, e.room, e.durationMs, e.bytesIn, e.bytesOut, e.error, e.value,
      JSON.stringify(e.properties), JSON.stringify(e.context),
    ));
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 9, 30, 21, 0, 0); // five hours from 21:00 UTC: across a UTC day boundary
const SPAN = 5 * HOUR;

/** The table never had gauges: an event as the old drain stored it. */
const asStored = (e: NormalizedEvent): NormalizedEvent => {
  const { gauges: _gauges, ...rest } = e;
  return rest;
};

/** Writes the events into the D1 raw table the way the drains before the archive did, in the given order (rowid order). */
async function seedTable(workspaceId: string, events: readonly NormalizedEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 200) await env.DB.batch(legacyInserts(workspaceId, events.slice(i, i + 200)));
}

async function archived(workspaceId: string): Promise<NormalizedEvent[]> {
  const out: NormalizedEvent[] = [];
  for await (const rows of readArchiveRange(env.ARCHIVE, workspaceId, T0 - 24 * HOUR, T0 + 24 * HOUR)) {
    out.push(...rows.map((r) => archiveRowToEvent(r as ArchiveRow)));
  }
  return out.sort(byId);
}

const byId = (a: NormalizedEvent, b: NormalizedEvent) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const tableExists = async () => (await countRows(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'`)) === 1;
const indexExists = async () => (await countRows(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'events_workspace_ts'`)) === 1;
const progress = async () => {
  const res = await call('GET', '/api/v1/admin/migration', { token: ROOT() });
  expect(res.status, res.text).toBe(200);
  return res.json as { migrated: number; remaining: number; done: boolean };
};
const objectKeys = async (workspaceId: string) => {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: workspacePrefix(workspaceId), cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
};

/** Two workspaces' events, shuffled across hours (insertion order is not time order), and a deleted workspace's. */
async function seedInstallation() {
  const a = await createWorkspace('mig-a');
  const b = await createWorkspace('mig-b');
  const aEvents = [...realisticEvents(900, T0, SPAN, 11), ...extremeEvents(T0 + HOUR)].map(asStored);
  const bEvents = realisticEvents(400, T0 + 2 * HOUR, 2 * HOUR, 12).map(asStored);
  const goneEvents = realisticEvents(50, T0, SPAN, 13).map(asStored);
  // Interleaved as drains of several workspaces would have written them.
  await seedTable(a.id, aEvents.slice(0, 500));
  await seedTable(b.id, bEvents.slice(0, 200));
  await seedTable('deleted-workspace', goneEvents);
  await seedTable(a.id, aEvents.slice(500));
  await seedTable(b.id, bEvents.slice(200));
  const total = aEvents.length + bEvents.length + goneEvents.length;
  return { a, b, aEvents: aEvents.sort(byId), bEvents: bEvents.sort(byId), total };
}

async function runUntilDone(bucket: Parameters<typeof runArchiveMigration>[1], options: Parameters<typeof runArchiveMigration>[2], maxRuns = 200): Promise<MigrationRun[]> {
  const runs: MigrationRun[] = [];
  for (let i = 0; i < maxRuns; i++) {
    const run = await runArchiveMigration(env.DB, bucket, options);
    runs.push(run);
    if (run.done) return runs;
  }
  throw new Error(`not done after ${maxRuns} runs`);
}

/** Each test starts from an installation of before the archive: the raw table as migration 0000 made it, and no job state. */
beforeEach(async () => {
  const ddl = env.TEST_MIGRATIONS.flatMap((m) => m.queries).filter((q) => /CREATE (TABLE|INDEX) `events(_workspace_ts)?`/.test(q));
  expect(ddl).toHaveLength(2);
  await env.DB.batch([
    env.DB.prepare(`DROP TABLE IF EXISTS events`),
    ...ddl.map((q) => env.DB.prepare(q)),
    env.DB.prepare(`DELETE FROM job_state WHERE name = ?`).bind(MIGRATION_JOB),
  ]);
});

describe('archive migration (D1 raw events to R2, once)', () => {
  it('moves every row once, in bounded chunks that resume run after run, then drops the table; afterwards a no-op', async () => {
    const { a, b, aEvents, bEvents, total } = await seedInstallation();
    expect(await progress()).toEqual({ migrated: 0, remaining: total, done: false });

    // budgetMs 0: one chunk per run, so each run is a cut-off the next resumes from.
    const first = await runArchiveMigration(env.DB, env.ARCHIVE, { budgetMs: 0, chunkRows: 100 });
    expect(first).toMatchObject({ rows: 100, migrated: 100, remaining: total - 100, done: false, dropped: false });
    expect(await progress()).toEqual({ migrated: 100, remaining: total - 100, done: false });
    const runs = [first, ...(await runUntilDone(env.ARCHIVE, { budgetMs: 0, chunkRows: 100 }))];
    expect(runs.every((r) => r.rows <= 100)).toBe(true);
    expect(runs.reduce((n, r) => n + r.rows, 0)).toBe(total);
    expect(runs.filter((r) => r.dropped)).toHaveLength(1);
    expect(runs.at(-1)).toMatchObject({ migrated: total, remaining: 0, done: true });

    // Every field the table held, context columns included, read back through the archive reader.
    expect(await archived(a.id)).toEqual(aEvents);
    expect(await archived(b.id)).toEqual(bEvents);
    const keys = await objectKeys(a.id);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) expect(key).toMatch(/\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/migrated-\d+-\d+\.parquet$/);
    // The deleted workspace's history stays deleted.
    expect(await objectKeys('deleted-workspace')).toEqual([]);

    expect(await tableExists()).toBe(false);
    expect(await indexExists()).toBe(false);
    expect(await progress()).toEqual({ migrated: total, remaining: 0, done: true });

    // Done for good: no D1 read of the table, no put.
    let puts = 0;
    const counting = { put: (...args: Parameters<R2Bucket['put']>) => (puts++, env.ARCHIVE.put(...args)) };
    expect(await runArchiveMigration(env.DB, counting, { budgetMs: 0 })).toMatchObject({ rows: 0, objects: 0, done: true, dropped: false });
    expect(puts).toBe(0);
    expect(await archived(a.id)).toEqual(aEvents);
  });

  it('a crash between the R2 puts and the state write, then a rerun: each event still exactly once', async () => {
    const { a, b, aEvents, bEvents, total } = await seedInstallation();
    let crash = false;
    // The object is stored, then the run dies before it records the chunk (an R2 answer lost, an isolate killed).
    const crashing = {
      async put(...args: Parameters<R2Bucket['put']>) {
        const object = await env.ARCHIVE.put(...args);
        if (crash) throw new Error('injected crash after the put');
        return object;
      },
    };
    const before = await runArchiveMigration(env.DB, crashing, { budgetMs: 0, chunkRows: 250 });
    expect(before.rows).toBe(250);
    const state = () => env.DB.prepare(`SELECT state FROM job_state WHERE name = ?`).bind(MIGRATION_JOB).first<{ state: string }>();
    const recorded = (await state())!.state;
    const keysBefore = await objectKeys(a.id);
    crash = true;
    await expect(runArchiveMigration(env.DB, crashing, { budgetMs: 60_000, chunkRows: 250 })).rejects.toThrow(/injected crash/);
    // Nothing recorded for the chunk under way; its objects are in R2 already.
    expect((await state())!.state).toBe(recorded);
    const keysAfterCrash = await objectKeys(a.id);
    expect(keysAfterCrash.length).toBeGreaterThan(keysBefore.length);
    // Crashing again on the same chunk puts the same keys: nothing new appears.
    await expect(runArchiveMigration(env.DB, crashing, { budgetMs: 60_000, chunkRows: 250 })).rejects.toThrow(/injected crash/);
    expect((await state())!.state).toBe(recorded);
    expect(await objectKeys(a.id)).toEqual(keysAfterCrash);
    crash = false;

    const runs = await runUntilDone(crashing, { budgetMs: 60_000, chunkRows: 250 });
    expect(runs.at(-1)).toMatchObject({ migrated: total, remaining: 0, done: true });
    const gotA = await archived(a.id);
    expect(gotA.length).toBe(aEvents.length);
    expect(new Set(gotA.map((e) => e.id)).size).toBe(aEvents.length);
    expect(gotA).toEqual(aEvents);
    expect(await archived(b.id)).toEqual(bEvents);
    expect(await tableExists()).toBe(false);
  });

  it('a time budget ends a run between chunks; the next run resumes where it stopped', async () => {
    const { a, aEvents, total } = await seedInstallation();
    // Every put takes 150 ms: a 100 ms budget lets one chunk start per run, whatever the machine's speed.
    const slow = { put: async (...args: Parameters<R2Bucket['put']>) => (await new Promise((r) => setTimeout(r, 150)), env.ARCHIVE.put(...args)) };
    const run = await runArchiveMigration(env.DB, slow, { budgetMs: 100, chunkRows: 300 });
    expect(run.rows).toBe(300);
    expect(run.done).toBe(false);
    // Chunks also stop at a byte size: ~2 rows of realistic text per 1 KB chunk.
    const small = await runArchiveMigration(env.DB, env.ARCHIVE, { budgetMs: 0, chunkRows: 300, chunkBytes: 1024 });
    expect(small.rows).toBeGreaterThanOrEqual(1);
    expect(small.rows).toBeLessThan(10);
    const rest = await runUntilDone(env.ARCHIVE, { budgetMs: 20_000 });
    expect(rest.at(-1)).toMatchObject({ migrated: total, done: true, dropped: true });
    expect(await archived(a.id)).toEqual(aEvents);
  });

  it('rows written after the job began are moved too; the drop never loses a row that slipped in', async () => {
    const ws = await createWorkspace('mig-late');
    const early = realisticEvents(120, T0, SPAN, 21).map(asStored);
    const late = realisticEvents(30, T0, SPAN, 22).map(asStored);
    await seedTable(ws.id, early);
    const first = await runArchiveMigration(env.DB, env.ARCHIVE, { budgetMs: 0, chunkRows: 100 });
    expect(first).toMatchObject({ rows: 100, done: false });
    // An old Worker's drain still writing while the new one migrates.
    await seedTable(ws.id, late);
    // The drop's guard: with rows past the job's end it refuses, atomically (the table and its index stay).
    const state = JSON.parse((await env.DB.prepare(`SELECT state FROM job_state WHERE name = ?`).bind(MIGRATION_JOB).first<{ state: string }>())!.state);
    expect(await dropIfMigrated(env.DB, state, Date.now())).toBe(false);
    expect(await tableExists()).toBe(true);
    expect(await indexExists()).toBe(true);

    const runs = await runUntilDone(env.ARCHIVE, { budgetMs: 0, chunkRows: 100 });
    expect(runs.at(-1)).toMatchObject({ migrated: 150, remaining: 0, done: true });
    expect(await archived(ws.id)).toEqual([...early, ...late].sort(byId));
  });

  it('a new installation (empty table) just drops it at the first cron run; the drain, its probe and workspace deletion then work without it', async () => {
    const ws = await createWorkspace('mig-new');
    expect(await progress()).toEqual({ migrated: 0, remaining: 0, done: false });
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await tableExists()).toBe(false);
    expect(await progress()).toEqual({ migrated: 0, remaining: 0, done: true });

    // The drain archives and rolls up without the raw table.
    const sent = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(40, 'after-drop') } });
    expect(sent.status).toBe(202);
    await flush(ws as TestWorkspace);
    expect(await flush(ws as TestWorkspace)).toBe(0);
    const ids: string[] = [];
    for await (const rows of readArchiveRange(env.ARCHIVE, ws.id, Date.now() - HOUR, Date.now() + HOUR, ['id'])) ids.push(...rows.map((r) => r.id!));
    expect(ids.sort()).toEqual(makeEvents(40, 'after-drop').map((e) => e.id).sort());
    expect(await countRows(`SELECT sum(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day' AND type = '' AND dim = ''`, ws.id)).toBe(40);
    await probeDrain(env.DB, { id: ws.id, slug: ws.slug, timezone: 'UTC' });

    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
  });

  it('the cron moves an installation within its budget and logs nothing but success', async () => {
    const { a, aEvents, total } = await seedInstallation();
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await progress()).toEqual({ migrated: total, remaining: 0, done: true });
    expect(await archived(a.id)).toEqual(aEvents);
  });

  it('an erased user’s rows are not moved (those received before the request); the user’s later events and everyone else’s are', async () => {
    const ws = await createWorkspace('mig-erase');
    const target = 'user-erased';
    const events = realisticEvents(300, T0, SPAN, 31).map((e, i) => asStored(i % 30 === 0 ? { ...e, userId: target } : e));
    const requestedAt = T0 + SPAN + HOUR;
    const after = { ...events[1]!, id: 'after-erasure', userId: target, ts: requestedAt + 1000, receivedAt: requestedAt + 1000 };
    await seedTable(ws.id, [...events, after]);
    await env.DB.prepare(`INSERT INTO erasures (id, workspace_id, user_id, status, requested_at) VALUES (?, ?, ?, 'pending', ?)`)
      .bind('er-1', ws.id, target, requestedAt).run();
    const runs = await runUntilDone(env.ARCHIVE, { budgetMs: 0, chunkRows: 100 });
    expect(runs.at(-1)).toMatchObject({ migrated: 301, remaining: 0, done: true });
    const expected = [...events, after].filter((e) => e.userId !== target || e.receivedAt > requestedAt).sort(byId);
    expect(expected.length).toBe(291);
    expect(await archived(ws.id)).toEqual(expected);
  });

  it('the progress route is for the root token only', async () => {
    const ws = await createWorkspace('mig-auth');
    expect((await call('GET', '/api/v1/admin/migration')).status).toBe(401);
    expect((await call('GET', '/api/v1/admin/migration', { token: ws.keys.admin })).status).toBe(403);
  });
});
