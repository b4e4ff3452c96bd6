import { startOfDay } from './range';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export type Grain = 'minute' | 'hour' | 'day';
export type Granularity = Grain | 'week' | 'month';

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of `at` in `tz`. */
export function wall(at: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(at)) p[part.type] = part.value;
  return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour, mi: +p.minute, s: +p.second };
}

const offsets = new Map<string, number>();
/** Offset of `tz` from UTC at `at`, in ms (cached per 15-minute slot: zones change on those). */
export function tzOffset(at: number, tz: string): number {
  const slot = `${tz}|${Math.floor(at / (15 * MINUTE))}`;
  let off = offsets.get(slot);
  if (off === undefined) {
    const w = wall(at, tz);
    off = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(at / 1000) * 1000;
    if (offsets.size > 50_000) offsets.clear();
    offsets.set(slot, off);
  }
  return off;
}

const days = new Map<string, number>();
/** Local midnight of the day holding `at` (cached per local day). */
export function dayStart(at: number, tz: string): number {
  const off = tzOffset(at, tz);
  const key = `${tz}|${Math.floor((at + off) / DAY)}`;
  let start = days.get(key);
  if (start === undefined) {
    start = startOfDay(at, tz);
    if (days.size > 50_000) days.clear();
    days.set(key, start);
  }
  return start;
}

/** Start of the bucket of `granularity` holding `at`, in the workspace's time zone. */
export function bucketStart(at: number, g: Granularity, tz: string): number {
  switch (g) {
    case 'minute':
      return Math.floor(at / MINUTE) * MINUTE;
    case 'hour': {
      const off = tzOffset(at, tz);
      return Math.floor((at + off) / HOUR) * HOUR - off;
    }
    case 'day':
      return dayStart(at, tz);
    case 'week': {
      const d = dayStart(at, tz);
      const w = wall(d + 12 * HOUR, tz);
      const dow = new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay(); // 0 = Sunday
      const back = (dow + 6) % 7; // weeks start on Monday
      return back ? dayStart(d - back * DAY + 12 * HOUR, tz) : d;
    }
    case 'month': {
      const d = dayStart(at, tz);
      const w = wall(d + 12 * HOUR, tz);
      return w.d === 1 ? d : dayStart(d - (w.d - 1) * DAY + 12 * HOUR, tz);
    }
  }
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, g: Granularity, tz: string): number {
  switch (g) {
    case 'minute':
      return start + MINUTE;
    case 'hour':
      return bucketStart(start + HOUR + MINUTE, 'hour', tz);
    case 'day':
      return dayStart(start + 36 * HOUR, tz);
    case 'week':
      return dayStart(start + 7 * DAY + 12 * HOUR, tz);
    case 'month':
      return bucketStart(start + 32 * DAY, 'month', tz);
  }
}

/** First bucket start ≥ at. */
export function ceilBucket(at: number, g: Granularity, tz: string): number {
  const s = bucketStart(at, g, tz);
  return s === at ? s : nextBucket(s, g, tz);
}
