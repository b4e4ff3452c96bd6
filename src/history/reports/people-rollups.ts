import type { UserReport } from '../../shared/reports';
import { Agg } from '../agg';
import { bucketStart } from '../time';
import type { ReportQuery } from './plan';

interface UserDaysRow {
  user_id: string; first: number; last: number; events: number; errors: number; bytes_in: number; bytes_out: number;
}

/** Whether per-user daily rollups answer a users query: no filter but the range (and, for one user, its userId). */
export function usersFromRollupsApply(q: ReportQuery): boolean {
  return Object.entries(q.filters).every(([k, v]) => v === undefined || k === 'userId');
}

/** The local days a range touches: [its first day's start, to). */
export const touchedDays = (q: ReportQuery) => ({ from: bucketStart(q.from, 'day', q.tz), to: q.to });

/**
 * Users of the range from per-user daily rollups: every whole local day the range touches (so a
 * partial first or last day counts whole). Sessions are a HyperLogLog estimate across the days.
 */
export async function usersFromRollups(db: D1Database, q: ReportQuery, sort: 'events' | 'lastSeen', limit: number): Promise<UserReport[]> {
  const days = touchedDays(q);
  const binds: unknown[] = [q.workspaceId, days.from, days.to];
  let where = 'workspace_id = ?1 AND day >= ?2 AND day < ?3';
  if (q.filters.userId !== undefined) where += ` AND user_id = ?${binds.push(q.filters.userId)}`;
  const order = sort === 'events' ? 'events DESC, last DESC' : 'last DESC, events DESC';
  // total(), not sum(): sum() of integers fails with "integer overflow" past 2^63.
  const { results } = await db
    .prepare(`SELECT user_id, min(first_seen) AS first, max(last_seen) AS last, sum(events) AS events, sum(errors) AS errors,
        total(bytes_in) AS bytes_in, total(bytes_out) AS bytes_out
      FROM user_rollups WHERE ${where} GROUP BY user_id ORDER BY ${order}, user_id LIMIT ${Math.trunc(limit)}`)
    .bind(...binds)
    .all<UserDaysRow>();
  if (!results.length) return [];
  const sketches = new Map(results.map((r) => [r.user_id, new Agg()]));
  const ids = JSON.stringify(results.map((r) => r.user_id));
  const { results: rows } = await db
    .prepare(`SELECT user_id, duration_count AS durationCount, duration_sum AS durationSum, sessions, durations
      FROM user_rollups WHERE ${where} AND user_id IN (SELECT value FROM json_each(?${binds.length + 1}))`)
    .bind(...binds, ids)
    .all<{ user_id: string; durationCount: number; durationSum: number; sessions: string | null; durations: string | null }>();
  for (const r of rows) {
    sketches.get(r.user_id)!.mergeRow({ events: 0, errors: 0, bytesIn: 0, bytesOut: 0, value: 0, users: null, ...r });
  }
  return results.map((r) => {
    const a = sketches.get(r.user_id)!;
    return {
      userId: r.user_id,
      firstSeen: new Date(r.first).toISOString(),
      lastSeen: new Date(r.last).toISOString(),
      events: r.events,
      sessions: a.sessions.estimate(),
      errors: r.errors,
      bytesIn: r.bytes_in,
      bytesOut: r.bytes_out,
      durationMs: a.durationStats(),
    };
  });
}
