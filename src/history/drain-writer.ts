import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import { packJsonArrays } from './json-chunks';
import { aggregate, mergeStoredSketches, rollupStatements, type RollupRow } from './rollups';
import { sessionStatements } from './sessions-drain';

export interface DrainBatch {
  batchId: string;
  events: NormalizedEvent[];
}

/** Bound JSON per statement stays well under D1's 2 MB value limit. */
const CHUNK_BYTES = 700_000;

/** Each event travels as an array (positions below): no key names to send, and SQLite reads by index, not by key. */
const INSERT_EVENTS = `INSERT INTO events (workspace_id, ts, id, type, received_at, user_id, session_id, room,
  duration_ms, bytes_in, bytes_out, error, value, properties, context)
SELECT ?1, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, e.value ->> 6,
  e.value ->> 7, e.value ->> 8, e.value ->> 9, e.value ->> 10, e.value ->> 11, json(e.value -> 12), json(e.value -> 13)
FROM json_each(?2) e`;

const row = (e: NormalizedEvent) =>
  JSON.stringify([e.ts, e.id, e.type, e.receivedAt, e.userId, e.sessionId, e.room, e.durationMs, e.bytesIn, e.bytesOut, e.error, e.value, e.properties, e.context]);

function chunkEvents(events: NormalizedEvent[]): string[] {
  return packJsonArrays(events.map(row), CHUNK_BYTES);
}

/** The batches' raw events in as few statements as the chunk size allows (one outbox batch per single-event request adds up). */
function statementsFor(db: D1Database, workspace: WorkspaceRef, keys: string[], events: NormalizedEvent[], now: number): D1PreparedStatement[] {
  return [
    // Fails with a UNIQUE violation when this drain (or any of these batches) was drained before, rolling back the rest.
    db
      .prepare(`INSERT INTO drain_log (batch_id, workspace_id, drained_at) SELECT value, ?2, ?3 FROM json_each(?1)`)
      .bind(JSON.stringify(keys), workspace.id, now),
  ];
}

/** The raw rows alone, as the drain writes them: one INSERT per chunk of events. */
export function insertEventStatements(db: D1Database, workspaceId: string, events: NormalizedEvent[]): D1PreparedStatement[] {
  return chunkEvents(events).map((json) => db.prepare(INSERT_EVENTS).bind(workspaceId, json));
}

/** Raw events, rollups and sessions of the batches, all in one D1 batch so they never disagree. */
async function drainStatements(db: D1Database, workspace: WorkspaceRef, batches: DrainBatch[], now: number, keys: string[]): Promise<D1PreparedStatement[]> {
  const events = batches.flatMap((b) => b.events);
  const rows: RollupRow[] = aggregate(events, workspace.timezone);
  await mergeStoredSketches(db, workspace.id, rows);
  return [
    ...statementsFor(db, workspace, keys, events, now),
    ...rollupStatements(db, workspace, rows),
    ...sessionStatements(db, workspace.id, events),
  ];
}

/** Drains of one workspace run one at a time (its hub is in this isolate): sketch merges read then write. */
const locks = new Map<string, Promise<unknown>>();
/** A drain whose object was reset may never settle: wait for it this long at most. */
const LOCK_WAIT_MS = 15_000;
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const held = locks.get(key);
  const prev = held ? Promise.race([held, new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_MS))]) : Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}

/** The drain_log key that tells a fenced drain from one that committed (both hold the drain's own key). */
const fenceKey = (drainId: string) => `fence:${drainId}`;

export const isAlreadyDrained = (err: unknown) => /UNIQUE constraint failed: drain_log\.batch_id/.test(String((err as Error)?.message ?? err));

async function runBatch(db: D1Database, statements: D1PreparedStatement[]): Promise<number> {
  const results = await db.batch(statements);
  return results.reduce((sum, r) => sum + (r.meta?.rows_written ?? 0), 0);
}

/**
 * Writes outbox batches to D1 in one transaction, logged in drain_log under `drainId` (one row per
 * drain; the hub keeps the id and the batches together until they leave its outbox) or, without
 * one, under each batch's id. A drain (or batch) already logged committed before and its answer was
 * lost: it is skipped, so a retry never doubles anything — unless it was fenced (`fenced`: nothing of
 * it is in D1, its batches are to go one by one). Throws when D1 fails; nothing is then committed.
 */
export function writeDrain(
  db: D1Database,
  workspace: WorkspaceRef,
  batches: DrainBatch[],
  now = Date.now(),
  drainId?: string,
): Promise<{ rowsWritten: number; fenced?: boolean }> {
  return serialized(workspace.id, async () => {
    try {
      const keys = drainId ? [drainId] : batches.map((b) => b.batchId);
      return { rowsWritten: await runBatch(db, await drainStatements(db, workspace, batches, now, keys)) };
    } catch (err) {
      if (!isAlreadyDrained(err)) throw err;
      // The same id always names the same batches: all of them are in D1, or none when it was fenced.
      if (drainId) return { rowsWritten: 0, fenced: await isFenced(db, drainId) };
    }
    let rowsWritten = 0;
    for (const batch of batches) {
      try {
        rowsWritten += await runBatch(db, await drainStatements(db, workspace, [batch], now, [batch.batchId]));
      } catch (err) {
        if (!isAlreadyDrained(err)) throw err;
      }
    }
    return { rowsWritten };
  });
}

/**
 * Proves that D1 takes a drain right now without committing anything: the whole drain of one
 * synthetic event (raw row, rollups, drain_log), rolled back by inserting its drain_log key twice.
 * Throws D1's error when any statement fails for another reason (D1 down, a table gone).
 */
export function probeDrain(db: D1Database, workspace: WorkspaceRef, now = Date.now()): Promise<void> {
  return serialized(workspace.id, async () => {
    const key = `probe-${crypto.randomUUID()}`;
    const probe: NormalizedEvent = {
      id: key, type: 'edgepulse.probe', ts: now, receivedAt: now, userId: null, sessionId: null, room: null,
      durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
    };
    const statements = await drainStatements(db, workspace, [{ batchId: key, events: [probe] }], now, [key]);
    const rollback = db.prepare(`INSERT INTO drain_log (batch_id, workspace_id, drained_at) VALUES (?1, ?2, ?3)`).bind(key, workspace.id, now);
    try {
      await db.batch([...statements, rollback]);
    } catch (err) {
      if (isAlreadyDrained(err)) return;
      throw err;
    }
    throw new Error('the drain probe committed: drain_log.batch_id is not unique');
  });
}

/**
 * Logs `drainId` in drain_log without writing anything, so that no write under that id can commit
 * from now on: a drain of several batches is fenced before its batches are written one by one under
 * their own ids. Throws the UNIQUE violation (`isAlreadyDrained`) when the drain had committed.
 */
export function fenceDrain(db: D1Database, workspace: WorkspaceRef, drainId: string, now = Date.now()): Promise<void> {
  return serialized(workspace.id, async () => {
    // With a second key in the same transaction: a hub that lost the answer (or crashed) sees it was a fence, not a commit.
    await db
      .prepare(`INSERT INTO drain_log (batch_id, workspace_id, drained_at) SELECT value, ?2, ?3 FROM json_each(?1)`)
      .bind(JSON.stringify([drainId, fenceKey(drainId)]), workspace.id, now)
      .run();
  });
}

async function isFenced(db: D1Database, drainId: string): Promise<boolean> {
  return (await db.prepare(`SELECT 1 AS fenced FROM drain_log WHERE batch_id = ?1`).bind(fenceKey(drainId)).first()) !== null;
}
