import type { Metric } from '../../shared/reports';
import { bucketStart, nextBucket, type Grain, type Granularity } from '../time';
import type { ReportQuery } from './plan';

/** Timeseries metrics answered from concurrency_rollups (presence), not from event rollups. */
export const CONCURRENCY_METRICS = ['concurrentUsers', 'participantMinutes'] as const satisfies readonly Metric[];
export type ConcurrencyMetric = (typeof CONCURRENCY_METRICS)[number];
export const isConcurrencyMetric = (m: string): m is ConcurrencyMetric => (CONCURRENCY_METRICS as readonly string[]).includes(m);

export interface ConcurrencyPoint {
  maxUsers: number;
  participantMs: number;
}

/** The stored grain a granularity reads: weeks and months merge days. */
const grainFor = (g: Granularity): Grain => (g === 'minute' ? 'minute' : g === 'hour' ? 'hour' : 'day');

/**
 * Concurrency per bucket of `granularity` over the buckets `starts`: the most users present at once
 * (max over the bucket's stored rows) and participant time (their sum), for the workspace or `room`.
 */
export async function concurrencyPoints(db: D1Database, q: ReportQuery, granularity: Granularity, starts: number[]): Promise<Map<number, ConcurrencyPoint>> {
  const points = new Map<number, ConcurrencyPoint>();
  if (!starts.length) return points;
  const end = nextBucket(starts[starts.length - 1], granularity, q.tz);
  const { results } = await db
    .prepare(`SELECT bucket, max_users AS maxUsers, participant_ms AS participantMs FROM concurrency_rollups
      WHERE workspace_id = ?1 AND grain = ?2 AND room = ?3 AND bucket >= ?4 AND bucket < ?5`)
    .bind(q.workspaceId, grainFor(granularity), q.filters.room ?? '', starts[0], end)
    .all<{ bucket: number; maxUsers: number; participantMs: number }>();
  for (const r of results) {
    const t = bucketStart(r.bucket, granularity, q.tz);
    const p = points.get(t);
    if (p) {
      p.maxUsers = Math.max(p.maxUsers, r.maxUsers);
      p.participantMs += r.participantMs;
    } else points.set(t, { maxUsers: r.maxUsers, participantMs: r.participantMs });
  }
  return points;
}

export function concurrencyValue(p: ConcurrencyPoint | undefined, m: ConcurrencyMetric): number {
  if (!p) return 0;
  return m === 'concurrentUsers' ? p.maxUsers : Math.round(p.participantMs / 600) / 100;
}
