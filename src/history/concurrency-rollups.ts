import type { ConcurrencyRow } from '../live/concurrency';
import type { WorkspaceRef } from '../ingest/types';
import { bucketStart, nextBucket, type Grain } from './time';

/**
 * concurrency_rollups writes. Minute rows come from the hub; hour and day rows are recomputed in
 * the same D1 batch from the finer rows of the buckets touched (max of max, sum of participant ms).
 * Every write keeps the larger value, so a drain repeated after a lost answer, or a minute written
 * again after a restart, changes nothing: no drain_log entry is needed to keep them exact.
 */
export function concurrencyStatements(db: D1Database, workspace: WorkspaceRef, rows: readonly ConcurrencyRow[]): D1PreparedStatement[] {
  if (!rows.length) return [];
  const minutes = rows.map((r) => [r.minute, r.room, r.maxUsers, Math.round(r.participantMs)]);
  return [
    db
      .prepare(`INSERT INTO concurrency_rollups (workspace_id, grain, bucket, room, max_users, participant_ms)
        SELECT ?1, 'minute', j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(?2) j WHERE true
        ON CONFLICT (workspace_id, grain, bucket, room) DO UPDATE SET
          max_users = max(max_users, excluded.max_users), participant_ms = max(participant_ms, excluded.participant_ms)`)
      .bind(workspace.id, JSON.stringify(minutes)),
    recompute(db, workspace, rows, 'hour', 'minute'),
    recompute(db, workspace, rows, 'day', 'hour'),
  ];
}

/** The `grain` rows holding `rows`' minutes, recomputed from their `finer` rows. */
function recompute(db: D1Database, workspace: WorkspaceRef, rows: readonly ConcurrencyRow[], grain: Grain, finer: Grain): D1PreparedStatement {
  const spans = new Map<string, [number, number, string]>();
  for (const r of rows) {
    const start = bucketStart(r.minute, grain, workspace.timezone);
    spans.set(`${start}\u0000${r.room}`, [start, nextBucket(start, grain, workspace.timezone), r.room]);
  }
  return db
    .prepare(`INSERT INTO concurrency_rollups (workspace_id, grain, bucket, room, max_users, participant_ms)
      SELECT ?1, ?2, j.value ->> 0, c.room, max(c.max_users), sum(c.participant_ms)
      FROM json_each(?4) j JOIN concurrency_rollups c ON c.workspace_id = ?1 AND c.grain = ?3
        AND c.bucket >= j.value ->> 0 AND c.bucket < j.value ->> 1 AND c.room = j.value ->> 2
      WHERE true GROUP BY j.value ->> 0, c.room
      ON CONFLICT (workspace_id, grain, bucket, room) DO UPDATE SET
        max_users = max(max_users, excluded.max_users), participant_ms = max(participant_ms, excluded.participant_ms)`)
    .bind(workspace.id, grain, finer, JSON.stringify([...spans.values()]));
}

/** Closed minutes on their own, when no outbox batch is draining (people present, no events). */
export async function writeConcurrency(db: D1Database, workspace: WorkspaceRef, rows: readonly ConcurrencyRow[]): Promise<number> {
  const results = await db.batch(concurrencyStatements(db, workspace, rows));
  return results.reduce((sum, r) => sum + (r.meta?.rows_written ?? 0), 0);
}

/** Retention: one chunk of a grain's rows older than a floor (?1 workspace, ?2 grain, ?3 floor); day rows stay. */
export const pruneConcurrencySql = (limit: number) =>
  `DELETE FROM concurrency_rollups WHERE rowid IN (SELECT rowid FROM concurrency_rollups WHERE workspace_id = ?1 AND grain = ?2 AND bucket < ?3 LIMIT ${limit})`;
