import type { Metric, Summary, Timeseries } from '../../shared/reports';
import type { RawSource } from '../raw/source';
import { bucketStart, DAY, HOUR, MINUTE, nextBucket, tzOffset, type Granularity } from '../time';
import type { ReportQuery } from './plan';
import { summary, timeseries } from './stats';

/** `compare=previous`: the period a report is compared with. */
export interface PreviousPeriod {
  from: number;
  to: number;
}

/** The range of equal length that ends where [from, to) starts. */
export const previousRange = (from: number, to: number): PreviousPeriod => ({ from: from - (to - from), to: from });

/** Nominal bucket lengths: only to count how many buckets long a range is. */
const NOMINAL: Record<Granularity, number> = { minute: MINUTE, hour: HOUR, day: DAY, week: 7 * DAY, month: 30.436875 * DAY };

const bucketBefore = (start: number, g: Granularity, tz: string) => bucketStart(start - 1, g, tz);

/** The bucket `k` buckets before the one starting at `start`. */
function bucketsBack(start: number, k: number, g: Granularity, tz: string): number {
  let b = start;
  for (let i = 0; i < k; i++) b = bucketBefore(b, g, tz);
  return b;
}

/**
 * `t` moved back `k` buckets: minutes and hours by their length; in a local day, week or month it
 * keeps its wall-clock place (the same time of day, day of the week or of the month), held inside
 * that bucket when it is shorter (February, a day of 23 hours).
 */
function shiftBack(t: number, k: number, g: Granularity, tz: string): number {
  if (g === 'minute' || g === 'hour') return t - k * NOMINAL[g];
  const b = bucketStart(t, g, tz);
  const b2 = bucketsBack(b, k, g, tz);
  if (t === b) return b2;
  const wallSinceStart = t + tzOffset(t, tz) - (b + tzOffset(b, tz));
  let moved = b2 + wallSinceStart;
  moved -= tzOffset(moved, tz) - tzOffset(b2, tz);
  return Math.min(Math.max(moved, b2), nextBucket(b2, g, tz) - 1);
}

/**
 * The previous period of a timeseries: [from, to) moved back by as many whole buckets as the range
 * is long (at least one), so previous.starts[i] is starts[i] that many buckets earlier and the
 * points align one to one (local days, weeks and months in the zone, across DST changes and
 * months of different lengths). It ends where [from, to) starts at the latest. When the range is a
 * whole number of minute or hour buckets long this is exactly the range of equal length before.
 */
export function previousBuckets(from: number, to: number, starts: number[], g: Granularity, tz: string): PreviousPeriod & { starts: number[] } {
  const k = Math.max(1, Math.round((to - from) / NOMINAL[g]));
  const prevStarts = starts.length ? [bucketsBack(starts[0], k, g, tz)] : [];
  while (prevStarts.length < starts.length) prevStarts.push(nextBucket(prevStarts[prevStarts.length - 1], g, tz));
  return { from: shiftBack(from, k, g, tz), to: Math.min(shiftBack(to, k, g, tz), from), starts: prevStarts };
}

const iso = (t: number) => new Date(t).toISOString();

/** The summary with `previous`, the same totals over the range of equal length before; both read at once. */
export async function summaryWithPrevious(db: D1Database, src: RawSource, q: ReportQuery): Promise<Summary> {
  const prev = previousRange(q.from, q.to);
  const [current, previous] = await Promise.all([summary(db, src, q), summary(db, src, { ...q, ...prev })]);
  return { ...current, previous, previousRange: { from: iso(prev.from), to: iso(prev.to) } };
}

/** The timeseries with `previous.points`, aligned one to one with `points` (previousBuckets); both read at once. */
export async function timeseriesWithPrevious(db: D1Database, src: RawSource, q: ReportQuery, g: Granularity, metrics: Metric[], starts: number[]): Promise<Timeseries> {
  const prev = previousBuckets(q.from, q.to, starts, g, q.tz);
  const [current, previous] = await Promise.all([
    timeseries(db, src, q, g, metrics, starts),
    timeseries(db, src, { ...q, from: prev.from, to: prev.to }, g, metrics, prev.starts),
  ]);
  return { ...current, previous: { points: previous.points }, previousRange: { from: iso(prev.from), to: iso(prev.to) } };
}
