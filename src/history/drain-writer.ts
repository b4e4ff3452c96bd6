import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import { firstSeenStatements } from './first-seen';
import { gaugeRollupStatements } from './gauge-rollups';
import type { ConcurrencyRow } from '../live/concurrency';
import { concurrencyStatements } from './concurrency-rollups';
import { aggregate, mergeStoredSketches, rollupStatements, type RollupRow } from './rollups';
import { sessionStatements } from './sessions-drain';
import { aggregateUsers, mergeStoredUserSketches, userRollupStatements } from './user-rollups';

export interface DrainBatch {
  batchId: string;
  events: NormalizedEvent[];
}

/** The drain_log rows of a drain: the first statement of its D1 batch. */
function statementsFor(db: D1Database, workspace: WorkspaceRef, keys: string[], now: number): D1PreparedStatement[] {
  return [
    // Fails with a UNIQUE violation when this drain (or any of these batches) was drained before, rolling back the rest.
    db
      .prepare(`INSERT INTO drain_log (batch_id, workspace_id, drained_at) SELECT value, ?2, ?3 FROM json_each(?1)`)
      .bind(JSON.stringify(keys), workspace.id, now),
  ];
}

/** Drain log, rollups and sessions of the batches, all in one D1 batch so they never disagree (raw events are in the archive, not D1). */
async function drainStatements(db: D1Database, workspace: WorkspaceRef, batches: DrainBatch[], now: number, keys: string[], concurrency: readonly ConcurrencyRow[] = []): Promise<D1PreparedStatement[]> {
  const events = batches.flatMap((b) => b.events);
  // The hub's closed concurrency minutes ride along (idempotent upserts: a repeat changes nothing).
  return [...statementsFor(db, workspace, keys, now), ...(await historyStatements(db, workspace, events)), ...concurrencyStatements(db, workspace, concurrency)];
}

/** Rollups (per-user daily ones and first-seen times too) and sessions of the events: what the drain writes to D1 besides the drain log. */
async function historyStatements(db: D1Database, workspace: WorkspaceRef, events: NormalizedEvent[]): Promise<D1PreparedStatement[]> {
  const rows: RollupRow[] = aggregate(events, workspace.timezone, workspace.rollupProperties);
  const userRows = aggregateUsers(events, workspace.timezone);
  await Promise.all([mergeStoredSketches(db, workspace.id, rows), mergeStoredUserSketches(db, workspace.id, userRows)]);
  return [
    ...rollupStatements(db, workspace, rows),
    ...userRollupStatements(db, workspace.id, userRows),
    ...firstSeenStatements(db, workspace.id, events),
    ...sessionStatements(db, workspace.id, events),
    ...gaugeRollupStatements(db, workspace, events),
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
  concurrency: readonly ConcurrencyRow[] = [],
): Promise<{ rowsWritten: number; fenced?: boolean; concurrencyWritten?: boolean }> {
  return serialized(workspace.id, async () => {
    try {
      const keys = drainId ? [drainId] : batches.map((b) => b.batchId);
      return { rowsWritten: await runBatch(db, await drainStatements(db, workspace, batches, now, keys, concurrency)), concurrencyWritten: true };
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
 * Proves that D1 takes a drain right now without committing anything: the drain log, rollups and
 * sessions of one synthetic event (raw events are the archive's), rolled back by
 * inserting its drain_log key twice. Throws D1's error when any statement fails for another reason (D1 down, a table gone).
 */
export function probeDrain(db: D1Database, workspace: WorkspaceRef, now = Date.now()): Promise<void> {
  return serialized(workspace.id, async () => {
    const key = `probe-${crypto.randomUUID()}`;
    const probe: NormalizedEvent = {
      id: key, type: 'edgepulse.probe', ts: now, receivedAt: now, userId: null, sessionId: null, room: null,
      durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
    };
    const logged = db.prepare(`INSERT INTO drain_log (batch_id, workspace_id, drained_at) VALUES (?1, ?2, ?3)`).bind(key, workspace.id, now);
    const statements = [logged, ...(await historyStatements(db, workspace, [probe]))];
    try {
      // The drain log twice: the UNIQUE violation at the end rolls everything back.
      await db.batch([...statements, logged]);
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
