import { bucketStart, DAY, HOUR, MINUTE, nextBucket, type Granularity } from '../time';

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

/** `t` moved back `k` buckets, kept at the same fraction of its bucket (so it lands in the bucket k earlier even when lengths differ). */
function shiftBack(t: number, k: number, g: Granularity, tz: string): number {
  if (g === 'minute' || g === 'hour') return t - k * NOMINAL[g];
  const b = bucketStart(t, g, tz);
  const len = nextBucket(b, g, tz) - b;
  const b2 = bucketsBack(b, k, g, tz);
  const len2 = nextBucket(b2, g, tz) - b2;
  return b2 + Math.floor(((t - b) * len2) / len);
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
