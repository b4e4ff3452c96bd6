import { Agg, type RollupValues } from '../agg';
import { loadRollupSince } from '../rollup-properties';
import { hash53 } from '../sketches';
import { bucketStart, ceilBucket, type Granularity } from '../time';
import { queriedProperties, type GroupBy, type RolledUp, type ReportQuery, type Segment } from './plan';

/**
 * Per-user daily rollups answer a `userId` filter alone (no other filter), totals by nothing,
 * in one point or points of a day or coarser: whole local days from them, partial edge days raw.
 */
export function userDaysAnswer(q: ReportQuery, by: GroupBy, granularity?: Granularity): boolean {
  const names = Object.keys(q.filters).filter((k) => q.filters[k as keyof typeof q.filters] !== undefined);
  return by.kind === 'none' && names.length === 1 && names[0] === 'userId'
    && (granularity === undefined || granularity === 'day' || granularity === 'week' || granularity === 'month');
}

/** [from, to) as whole local days in the middle and raw spans for the partial days at its edges. */
export function daySegments(from: number, to: number, tz: string): Segment[] {
  const a = ceilBucket(from, 'day', tz);
  const b = bucketStart(to, 'day', tz);
  if (a >= b) return [{ grain: 'raw', from, to }];
  return [
    ...(from < a ? [{ grain: 'raw' as const, from, to: a }] : []),
    { grain: 'day', from: a, to: b },
    ...(b < to ? [{ grain: 'raw' as const, from: b, to }] : []),
  ];
}

/** The user's day rows of [from, to) (day starts), each as an Agg at its time point. */
export async function foldUserDays(
  db: D1Database, q: ReportQuery, from: number, to: number, pointOf: (t: number) => number, add: (point: number, agg: Agg) => void,
): Promise<void> {
  const userId = q.filters.userId!;
  const { results } = await db
    .prepare(`SELECT day, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value, duration_count AS durationCount,
        duration_sum AS durationSum, NULL AS users, sessions, durations
      FROM user_rollups WHERE workspace_id = ?1 AND user_id = ?2 AND day >= ?3 AND day < ?4`)
    .bind(q.workspaceId, userId, from, to)
    .all<RollupValues & { day: number }>();
  const user = hash53(userId);
  for (const r of results) {
    const agg = Agg.fromRow(r);
    // One user by definition: the same hash raw events add, so merged edges count it once.
    agg.users.addHash(user);
    add(pointOf(r.day), agg);
  }
}

/** Which properties this query may read from rollups: in rollupProperties, and rolled up since before the range. */
export async function rolledUpFor(db: D1Database, q: ReportQuery, by: GroupBy): Promise<RolledUp> {
  const listed = new Set(q.rollupProperties ?? []);
  if (!queriedProperties(q.filters, by).some((n) => listed.has(n))) return () => false;
  const since = await loadRollupSince(db, q.workspaceId);
  return (name) => listed.has(name) && Object.hasOwn(since, name) && q.from >= since[name];
}
