import type { NormalizedEvent } from '../ingest/types';
import { packJsonArrays } from './json-chunks';
import { Agg, hashesOf } from './agg';
import { decodeDurations, encodeDurations, HyperLogLog, mergeDurations } from './sketches';
import { bucketStart } from './time';

/** One user's events of one workspace-local day, as the drain folds them. */
export interface UserDayRow {
  userId: string;
  day: number;
  agg: Agg;
  firstSeen: number;
  lastSeen: number;
}

const SEP = '\u0000';

/** Events with a userId, folded per (user, local day): a drain's user-day rows, not one per event. */
export function aggregateUsers(events: NormalizedEvent[], tz: string): UserDayRow[] {
  const rows = new Map<string, UserDayRow>();
  for (const e of events) {
    if (e.userId === null) continue;
    const day = bucketStart(e.ts, 'day', tz);
    const key = `${e.userId}${SEP}${day}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { userId: e.userId, day, agg: new Agg(), firstSeen: e.ts, lastSeen: e.ts }));
    // Only the session sketch is kept: a user row's users count is 1 by definition.
    row.agg.addEvent(e, { user: null, session: hashesOf(e).session });
    if (e.ts < row.firstSeen) row.firstSeen = e.ts;
    if (e.ts > row.lastSeen) row.lastSeen = e.ts;
  }
  return [...rows.values()];
}

const SELECT_EXISTING = `SELECT u.user_id AS userId, u.day, u.sessions, u.durations
FROM json_each(?2) j CROSS JOIN user_rollups u ON u.workspace_id = ?1 AND u.user_id = j.value ->> 0 AND u.day = j.value ->> 1
WHERE u.sessions IS NOT NULL OR u.durations IS NOT NULL`;

/** Like rollups' sketches: read the stored ones of the rows touched and write back the merge (drains are serialized). */
export async function mergeStoredUserSketches(db: D1Database, workspaceId: string, rows: UserDayRow[]): Promise<void> {
  const wanted = rows.filter((r) => !r.agg.sessions.isEmpty() || r.agg.durationCount > 0);
  const byKey = new Map(wanted.map((r) => [`${r.userId}${SEP}${r.day}`, r]));
  for (let i = 0; i < wanted.length; i += 500) {
    const keys = wanted.slice(i, i + 500).map((r) => [r.userId, r.day]);
    const { results } = await db.prepare(SELECT_EXISTING).bind(workspaceId, JSON.stringify(keys))
      .all<{ userId: string; day: number; sessions: string | null; durations: string | null }>();
    for (const s of results) {
      const row = byKey.get(`${s.userId}${SEP}${s.day}`);
      if (!row) continue;
      if (s.sessions) row.agg.sessions.merge(HyperLogLog.decode(s.sessions));
      if (s.durations) mergeDurations(row.agg.durations, decodeDurations(s.durations));
    }
  }
}

const UPSERT = `INSERT INTO user_rollups (workspace_id, user_id, day, events, errors, bytes_in, bytes_out, value,
  duration_count, duration_sum, durations, sessions, first_seen, last_seen)
SELECT ?1, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6,
  j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, j.value ->> 11, j.value ->> 12
FROM json_each(?2) j WHERE true
ON CONFLICT (workspace_id, user_id, day) DO UPDATE SET
  events = events + excluded.events, errors = errors + excluded.errors,
  bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out, value = value + excluded.value,
  duration_count = duration_count + excluded.duration_count, duration_sum = duration_sum + excluded.duration_sum,
  durations = coalesce(excluded.durations, durations), sessions = coalesce(excluded.sessions, sessions),
  first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`;

/** Bound JSON per statement stays well under D1's 2 MB value limit. */
const CHUNK_BYTES = 700_000;

/** Bulk upserts: counts add, first/last seen widen, sketch columns hold the already merged sketches. */
export function userRollupStatements(db: D1Database, workspaceId: string, rows: UserDayRow[]): D1PreparedStatement[] {
  const json = rows.map(({ userId, day, agg: a, firstSeen, lastSeen }) =>
    JSON.stringify([
      userId, day, a.events, a.errors, a.bytesIn, a.bytesOut, a.value, a.durationCount, a.durationSum,
      encodeDurations(a.durations), a.sessions.isEmpty() ? null : a.sessions.encode(), firstSeen, lastSeen,
    ]));
  return packJsonArrays(json, CHUNK_BYTES).map((chunk) => db.prepare(UPSERT).bind(workspaceId, chunk));
}
