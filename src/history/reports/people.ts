import type { UserReport } from '../../shared/reports';
import { rawWhere } from '../raw-events';
import type { ReportQuery } from './plan';
import { acceptDuration, newDurations, quantile } from '../sketches';

interface UserRow {
  user_id: string; first: number; last: number; events: number; sessions: number; errors: number; bytes_in: number; bytes_out: number;
}

/** Users of the range from raw events (exact; within the raw retention). */
export async function users(db: D1Database, q: ReportQuery, sort: 'events' | 'lastSeen', limit: number): Promise<UserReport[]> {
  const { where, binds } = rawWhere(q, q.from, q.to);
  // total(), not sum(): sum() of integers fails with "integer overflow" past 2^63.
  const order = sort === 'events' ? 'events DESC, last DESC' : 'last DESC, events DESC';
  const { results } = await db
    .prepare(`SELECT user_id, min(ts) AS first, max(ts) AS last, count(*) AS events, count(DISTINCT session_id) AS sessions,
        count(error) AS errors, total(bytes_in) AS bytes_in, total(bytes_out) AS bytes_out
      FROM events WHERE ${where} AND user_id IS NOT NULL GROUP BY user_id ORDER BY ${order}, user_id LIMIT ${Math.trunc(limit)}`)
    .bind(...binds)
    .all<UserRow>();
  if (!results.length) return [];
  const sketches = new Map(results.map((r) => [r.user_id, { s: newDurations(), sum: 0 }]));
  const ids = JSON.stringify(results.map((r) => r.user_id));
  const durations = await db
    .prepare(`SELECT user_id, duration_ms FROM events WHERE ${where} AND duration_ms IS NOT NULL
      AND user_id IN (SELECT value FROM json_each(?${binds.length + 1}))`)
    .bind(...binds, ids)
    .raw<[string, number]>();
  for (const [u, d] of durations) {
    const x = sketches.get(u)!;
    acceptDuration(x.s, d);
    x.sum += d;
  }
  return results.map((r) => {
    const x = sketches.get(r.user_id)!;
    return {
      userId: r.user_id,
      firstSeen: new Date(r.first).toISOString(),
      lastSeen: new Date(r.last).toISOString(),
      events: r.events,
      sessions: r.sessions,
      errors: r.errors,
      bytesIn: r.bytes_in,
      bytesOut: r.bytes_out,
      durationMs: { avg: x.s.count ? x.sum / x.s.count : null, p50: quantile(x.s, 0.5), p95: quantile(x.s, 0.95), p99: quantile(x.s, 0.99) },
    };
  });
}
