import { DAY, HOUR, wall } from '../history/time';

/** What the period arithmetic needs of a schedule. */
export interface ScheduleTiming {
  every: 'day' | 'week';
  /** 0–23, the workspace's local time. */
  hour: number;
  /** 0 (Sunday) – 6; for `week` (null: Monday). */
  weekday: number | null;
  createdAt: number;
}

/** A report's period [from, to) and the moment it is due (its local hour on the day `to` starts). */
export interface ReportPeriod {
  from: number;
  to: number;
  dueAt: number;
}

/** The weekday a weekly schedule without one reports on (Monday). */
export const DEFAULT_WEEKDAY = 1;

interface Civil {
  y: number;
  mo: number;
  d: number;
}

/** The local calendar date `days` after `c` (Date.UTC normalises month and year overflow). */
function addDays(c: Civil, days: number): Civil {
  const t = new Date(Date.UTC(c.y, c.mo - 1, c.d + days));
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

const weekdayOf = (c: Civil): number => new Date(Date.UTC(c.y, c.mo - 1, c.d)).getUTCDay();
const wallKey = (y: number, mo: number, d: number, h: number, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi);

/**
 * The first instant at which the local clock in `tz` reads `hour`:00 or later on date `c`: the
 * hour itself, its first occurrence when a DST change repeats it, and the end of the gap when a DST
 * change skips it (02:00 on a spring-forward night in Europe is 03:00).
 */
export function localTime(c: Civil, hour: number, tz: string): number {
  const target = wallKey(c.y, c.mo, c.d, hour);
  // The zone's offsets a day before and after cover both sides of any change on that date.
  const candidates = [target - offsetAt(target - DAY, tz), target - offsetAt(target + DAY, tz)].sort((a, b) => a - b);
  for (const t of candidates) {
    const w = wall(t, tz);
    if (wallKey(w.y, w.mo, w.d, w.h, w.mi) >= target) return t;
  }
  return candidates[candidates.length - 1]!;
}

function offsetAt(at: number, tz: string): number {
  const w = wall(at, tz);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(at / 1000) * 1000;
}

/** The local calendar date holding `at`. */
export function localDate(at: number, tz: string): Civil {
  const w = wall(at, tz);
  return { y: w.y, mo: w.mo, d: w.d };
}

/** The period whose report is due at the local `hour` of date `c`: the local day before it, or the 7 local days before it. */
type Timing = Pick<ScheduleTiming, 'every' | 'hour' | 'weekday'>;

function periodDueOn(s: Timing, c: Civil, tz: string, hour: number): ReportPeriod {
  const days = s.every === 'day' ? 1 : 7;
  return { from: localTime(addDays(c, -days), 0, tz), to: localTime(c, 0, tz), dueAt: localTime(c, hour, tz) };
}

/**
 * The newest period whose due moment is at or before `now` (a cron running late or twice finds the
 * same one; periods missed entirely are not sent late). `hour` overrides the schedule's (0: the last
 * complete period, whatever the hour: what "send now" reports).
 */
export function latestPeriod(s: Timing, tz: string, now: number, hour: number = s.hour): ReportPeriod {
  const today = localDate(now, tz);
  // A week's due day is at most 7 days back; a day's, today or yesterday.
  for (let back = 0; back <= 7; back++) {
    const c = addDays(today, -back);
    if (s.every === 'week' && weekdayOf(c) !== (s.weekday ?? DEFAULT_WEEKDAY)) continue;
    const p = periodDueOn(s, c, tz, hour);
    if (p.dueAt <= now) return p;
  }
  // Unreachable for valid schedules (a match always lies within 8 days); the day before as a fallback.
  return periodDueOn({ ...s, every: 'day' }, addDays(today, -1), tz, hour);
}

/**
 * The period the cron should send at `now`, or null: none is due yet, the schedule was created after
 * the newest period's due moment (it waits for the next one), or that period was sent already.
 */
export function duePeriod(s: ScheduleTiming & { lastPeriodStart: number | null }, tz: string, now: number): ReportPeriod | null {
  const p = latestPeriod(s, tz, now);
  if (p.dueAt < s.createdAt) return null;
  if (s.lastPeriodStart !== null && s.lastPeriodStart >= p.from) return null;
  return p;
}

/** The period before `p` of the same kind (its comparison in the report): same local length, DST-safe. */
export function previousPeriod(p: Pick<ReportPeriod, 'from' | 'to'>, every: 'day' | 'week', tz: string): { from: number; to: number } {
  const days = every === 'day' ? 1 : 7;
  const start = localDate(p.from + 12 * HOUR, tz);
  return { from: localTime(addDays(start, -days), 0, tz), to: p.from };
}
