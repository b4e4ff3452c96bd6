import type { Granularity } from '../api-types';

/** The ranges the viewer timeline and the connection figures offer (minute points reach back 48 h, hour points 35 days). */
export const VIEWER_RANGES = [
  { id: '1h', label: '1 hour', ms: 3_600_000, granularity: 'minute' },
  { id: '24h', label: '24 hours', ms: 86_400_000, granularity: 'minute' },
  { id: '7d', label: '7 days', ms: 7 * 86_400_000, granularity: 'hour' },
  { id: '30d', label: '30 days', ms: 30 * 86_400_000, granularity: 'hour' },
  { id: '90d', label: '90 days', ms: 90 * 86_400_000, granularity: 'day' },
] as const satisfies ReadonlyArray<{ id: string; label: string; ms: number; granularity: Granularity }>;
export type ViewerRangeId = (typeof VIEWER_RANGES)[number]['id'] | 'custom';

export interface ViewerRange {
  id: ViewerRangeId;
  from: number;
  to: number;
  granularity: Granularity;
}

/** The finest granularity the API keeps for a custom span (and that stays under its point limit). */
export function granularityFor(span: number, from: number, now = Date.now()): Granularity {
  if (span <= 25 * 3_600_000 && from >= now - 47 * 3_600_000) return 'minute';
  if (span <= 60 * 86_400_000 && from >= now - 34 * 86_400_000) return 'hour';
  return 'day';
}

export function presetRange(id: Exclude<ViewerRangeId, 'custom'>, now = Date.now()): ViewerRange {
  const r = VIEWER_RANGES.find((v) => v.id === id)!;
  // Up to the start of the minute in progress: its figures are recorded when it closes.
  const to = Math.floor(now / 60_000) * 60_000;
  return { id, from: to - r.ms, to, granularity: r.granularity };
}

export function customRange(from: number, to: number, now = Date.now()): ViewerRange {
  return { id: 'custom', from, to, granularity: granularityFor(to - from, from, now) };
}
