import type { NormalizedEvent } from '../ingest/types';
import { packJsonArrays } from './json-chunks';

/**
 * user_first_seen: when each user of a workspace was first seen, over the workspace's whole history
 * (retention never prunes it). `newUsers` and retention cohorts read it; the drain writes it.
 */

/** The earliest event time of each user among the events (events without a userId count for nobody). */
export function firstSeenOf(events: NormalizedEvent[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const e of events) {
    if (e.userId === null) continue;
    const seen = first.get(e.userId);
    if (seen === undefined || e.ts < seen) first.set(e.userId, e.ts);
  }
  return first;
}

/**
 * Writes a row only for a new user or an earlier time: a user seen before costs no row written
 * (the WHERE of the DO UPDATE leaves the row, and its index entry, untouched).
 */
const UPSERT = `INSERT INTO user_first_seen (workspace_id, user_id, first_seen)
SELECT ?1, j.value ->> 0, j.value ->> 1 FROM json_each(?2) j WHERE true
ON CONFLICT (workspace_id, user_id) DO UPDATE SET first_seen = excluded.first_seen
WHERE excluded.first_seen < user_first_seen.first_seen`;

/** Bound JSON per statement stays well under D1's 2 MB value limit. */
const CHUNK_BYTES = 700_000;

/** The drain's first-seen upserts: one statement per chunk of users, in the drain's D1 batch. */
export function firstSeenStatements(db: D1Database, workspaceId: string, events: NormalizedEvent[]): D1PreparedStatement[] {
  const json = [...firstSeenOf(events)].map(([userId, ts]) => JSON.stringify([userId, ts]));
  return packJsonArrays(json, CHUNK_BYTES).map((chunk) => db.prepare(UPSERT).bind(workspaceId, chunk));
}

/** Deletes one user's first-seen row (erasure): batched with the deletion of their per-user rollups. */
export const deleteFirstSeen = (db: D1Database, workspaceId: string, userId: string): D1PreparedStatement =>
  db.prepare(`DELETE FROM user_first_seen WHERE workspace_id = ?1 AND user_id = ?2`).bind(workspaceId, userId);
