import type { LiveSnapshot } from '../shared/live';

/** Header marking a live request as a share link's (trusted: only the Worker reaches a hub's fetch): `open`, or when the share expires (epoch ms). */
export const LIVE_AGGREGATES_HEADER = 'x-edgepulse-aggregates';

/** A share's connection: undefined for any other; `until` is when its share expires. */
export function aggregatesOnlyUntil(header: string | null): { until?: number } | undefined {
  if (header === null) return undefined;
  const until = Number(header);
  return Number.isFinite(until) ? { until } : {};
}

/** Stats as a share link sees them: every figure, but no raw events, no user ids and no alert rules (settings). */
export function aggregatesOnly<T>(stats: T): T {
  const s = stats as Record<string, unknown>;
  return {
    ...s, recentEvents: [], recentErrors: [], topUsers: [],
    ...('participants' in s ? { participants: [] } : {}),
    ...('firingAlerts' in s ? { firingAlerts: [] } : {}),
  } as T;
}

export function snapshotAggregatesOnly(snapshot: LiveSnapshot): LiveSnapshot {
  return { ...snapshot, data: aggregatesOnly(snapshot.data) };
}
