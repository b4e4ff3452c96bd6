import type { UserReport } from '../../shared/reports';
import { scanRaw, type RawSource } from '../raw/source';
import { acceptDuration, newDurations, quantile } from '../sketches';
import type { ReportQuery } from './plan';
import { rawScope } from './raw-fold';

interface UserTotals {
  first: number; last: number; events: number; sessions: Set<string>; errors: number; bytesIn: number; bytesOut: number; durations: number;
}

/**
 * Users of the range from raw events (the archive and the outbox; exact within the raw retention).
 * Two passes over projected columns: totals per user, then duration sketches for the listed users
 * only, so memory grows with the range's users, not its events.
 */
export async function users(src: RawSource, q: ReportQuery, sort: 'events' | 'lastSeen', limit: number): Promise<UserReport[]> {
  const scope = rawScope(q, q.from, q.to);
  const totals = new Map<string, UserTotals>();
  for await (const rows of scanRaw(src, scope, ['ts', 'user_id', 'session_id', 'error', 'bytes_in', 'bytes_out', 'duration_ms'])) {
    for (const r of rows) {
      if (r.user_id === null || r.user_id === undefined) continue;
      let u = totals.get(r.user_id);
      if (!u) totals.set(r.user_id, (u = { first: r.ts!, last: r.ts!, events: 0, sessions: new Set(), errors: 0, bytesIn: 0, bytesOut: 0, durations: 0 }));
      u.first = Math.min(u.first, r.ts!);
      u.last = Math.max(u.last, r.ts!);
      u.events++;
      if (r.session_id !== null && r.session_id !== undefined) u.sessions.add(r.session_id);
      if (r.error !== null && r.error !== undefined) u.errors++;
      u.bytesIn += r.bytes_in ?? 0;
      u.bytesOut += r.bytes_out ?? 0;
      if (r.duration_ms !== null && r.duration_ms !== undefined) u.durations++;
    }
  }
  const order = sort === 'events'
    ? (a: UserTotals, b: UserTotals) => b.events - a.events || b.last - a.last
    : (a: UserTotals, b: UserTotals) => b.last - a.last || b.events - a.events;
  const listed = [...totals].sort(([ida, a], [idb, b]) => order(a, b) || (ida < idb ? -1 : ida > idb ? 1 : 0)).slice(0, Math.trunc(limit));
  if (!listed.length) return [];
  const sketches = new Map(listed.filter(([, u]) => u.durations > 0).map(([id]) => [id, { s: newDurations(), sum: 0 }]));
  if (sketches.size) {
    // The listed users only; a userId filter narrows the scan to one user.
    const only = sketches.size === 1 && q.filters.userId === undefined ? { ...scope, filters: { ...scope.filters, userId: [...sketches.keys()][0]! } } : scope;
    for await (const rows of scanRaw(src, only, ['user_id', 'duration_ms'])) {
      for (const r of rows) {
        const x = r.duration_ms === null || r.duration_ms === undefined ? undefined : sketches.get(r.user_id!);
        if (!x) continue;
        acceptDuration(x.s, r.duration_ms!);
        x.sum += r.duration_ms!;
      }
    }
  }
  return listed.map(([userId, u]) => {
    const x = sketches.get(userId);
    return {
      userId,
      firstSeen: new Date(u.first).toISOString(),
      lastSeen: new Date(u.last).toISOString(),
      events: u.events,
      sessions: u.sessions.size,
      errors: u.errors,
      bytesIn: u.bytesIn,
      bytesOut: u.bytesOut,
      durationMs: x
        ? { avg: x.s.count ? x.sum / x.s.count : null, p50: quantile(x.s, 0.5), p95: quantile(x.s, 0.95), p99: quantile(x.s, 0.99) }
        : { avg: null, p50: quantile(newDurations(), 0.5), p95: quantile(newDurations(), 0.95), p99: quantile(newDurations(), 0.99) },
    };
  });
}
