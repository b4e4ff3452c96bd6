import { z } from 'zod';
import { TimeInput } from '../shared/events';

import { RANGES, type RangeName } from '../shared/report-params';

export { RANGES, type RangeName };

/** Query-string time: ISO text or epoch ms given as digits. */
export const QueryTime = z
  .string()
  .transform((s) => (/^\d+$/.test(s) ? Number(s) : s))
  .pipe(TimeInput);

const HOUR = 3_600_000;

/** Intl formatters are costly to build (the live hub asks for "today" on every ingest): one per zone. */
const formatters = new Map<string, { full: Intl.DateTimeFormat; hour: Intl.DateTimeFormat; lastDay?: number }>();
function zoneFormatters(tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = {
      full: new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
      hour: new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: '2-digit' }),
    };
    if (formatters.size > 500) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** Midnight of the day holding `at`, in the time zone `tz`, as epoch ms. */
export function startOfDay(at: number, tz: string): number {
  const f = zoneFormatters(tz);
  // A day lasts at least 22 hours even across offset changes, so a time that soon after a known midnight shares it.
  if (f.lastDay !== undefined && at >= f.lastDay && at < f.lastDay + 22 * HOUR) return f.lastDay;
  const parts = Object.fromEntries(
    f.full
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const wallAsUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  const offset = wallAsUtc - Math.floor(at / 1000) * 1000;
  const midnightWall = Date.UTC(+parts.year, +parts.month - 1, +parts.day);
  let guess = midnightWall - offset;
  // The offset at midnight can differ from now's across a DST change: correct once.
  const check = f.hour.format(guess);
  if (+check !== 0) guess -= (+check > 12 ? +check - 24 : +check) * HOUR;
  f.lastDay = guess;
  return guess;
}

/** `range` or `from`/`to` → [from, to) in epoch ms. */
export function resolveRange(q: { range?: RangeName; from?: number; to?: number }, tz: string, now = Date.now()): { from?: number; to?: number } {
  if (!q.range) return { from: q.from, to: q.to };
  switch (q.range) {
    case 'today':
      return { from: startOfDay(now, tz), to: now + 1 };
    case 'yesterday': {
      const today = startOfDay(now, tz);
      return { from: startOfDay(today - HOUR, tz), to: today };
    }
    case '24h':
      return { from: now - 24 * HOUR, to: now + 1 };
    default:
      return { from: now - Number.parseInt(q.range, 10) * 24 * HOUR, to: now + 1 };
  }
}
