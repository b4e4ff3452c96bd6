import type { LiveSnapshot } from '../shared/live';

/** Header marking a live request as a share link's (trusted: only the Worker reaches a hub's fetch). */
export const LIVE_AGGREGATES_HEADER = 'x-edgepulse-aggregates';

/** Stats as a share link sees them: every figure, but no raw events and no user ids. */
export function aggregatesOnly<T>(stats: T): T {
  const s = stats as Record<string, unknown>;
  return { ...s, recentEvents: [], recentErrors: [], topUsers: [], ...('participants' in s ? { participants: [] } : {}) } as T;
}

export function snapshotAggregatesOnly(snapshot: LiveSnapshot): LiveSnapshot {
  return { ...snapshot, data: aggregatesOnly(snapshot.data) };
}
