import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duePeriod, latestPeriod, localTime, previousPeriod, type ScheduleTiming } from '../src/alerts/schedules';

const H = 3_600_000;
const D = 24 * H;
const utc = (s: string) => Date.parse(s);
const daily = (hour: number, createdAt = 0): ScheduleTiming => ({ every: 'day', hour, weekday: null, createdAt });
const weekly = (hour: number, weekday: number | null, createdAt = 0): ScheduleTiming => ({ every: 'week', hour, weekday, createdAt });

describe('report periods', () => {
  it('a day: the previous local day, due from the local hour', () => {
    expect(latestPeriod(daily(8), 'UTC', utc('2026-01-06T08:02:00Z'))).toEqual({ from: utc('2026-01-05T00:00:00Z'), to: utc('2026-01-06T00:00:00Z'), dueAt: utc('2026-01-06T08:00:00Z') });
    // Before the hour: the day before's report is still the newest one due.
    expect(latestPeriod(daily(8), 'UTC', utc('2026-01-06T07:59:59Z'))).toEqual({ from: utc('2026-01-04T00:00:00Z'), to: utc('2026-01-05T00:00:00Z'), dueAt: utc('2026-01-05T08:00:00Z') });
    // Tokyo (UTC+9): 07:00 local on Jan 6 is 22:00Z on Jan 5; the day is Jan 5 local.
    expect(latestPeriod(daily(7), 'Asia/Tokyo', utc('2026-01-05T22:00:00Z'))).toEqual({ from: utc('2026-01-04T15:00:00Z'), to: utc('2026-01-05T15:00:00Z'), dueAt: utc('2026-01-05T22:00:00Z') });
  });

  it('across DST: 23- and 25-hour days, skipped and repeated hours', () => {
    // New York springs forward on 2026-03-08: that local day has 23 hours.
    const spring = latestPeriod(daily(7), 'America/New_York', utc('2026-03-09T11:00:00Z'));
    expect(spring).toEqual({ from: utc('2026-03-08T05:00:00Z'), to: utc('2026-03-09T04:00:00Z'), dueAt: utc('2026-03-09T11:00:00Z') });
    // …and falls back on 2026-11-01: 25 hours.
    const fall = latestPeriod(daily(7), 'America/New_York', utc('2026-11-02T12:00:00Z'));
    expect(fall.to - fall.from).toBe(25 * H);
    expect(fall.dueAt).toBe(utc('2026-11-02T12:00:00Z'));
    // Berlin skips 02:00–03:00 on 2026-03-29: an hour-2 report goes out when the clock passes it (03:00 CEST).
    expect(localTime({ y: 2026, mo: 3, d: 29 }, 2, 'Europe/Berlin')).toBe(utc('2026-03-29T01:00:00Z'));
    // …and repeats 02:00–03:00 on 2026-10-25: the first one.
    expect(localTime({ y: 2026, mo: 10, d: 25 }, 2, 'Europe/Berlin')).toBe(utc('2026-10-25T00:00:00Z'));
    expect(localTime({ y: 2026, mo: 10, d: 25 }, 3, 'Europe/Berlin')).toBe(utc('2026-10-25T02:00:00Z'));
  });

  it('a week: the 7 local days before the weekday, Monday by default', () => {
    // 2026-01-07 is a Wednesday; the latest Monday is Jan 5.
    expect(latestPeriod(weekly(9, null), 'UTC', utc('2026-01-07T12:00:00Z'))).toEqual({ from: utc('2025-12-29T00:00:00Z'), to: utc('2026-01-05T00:00:00Z'), dueAt: utc('2026-01-05T09:00:00Z') });
    // On the weekday itself before the hour: last week's.
    expect(latestPeriod(weekly(9, 3), 'UTC', utc('2026-01-07T08:00:00Z')).to).toBe(utc('2025-12-31T00:00:00Z'));
    expect(latestPeriod(weekly(9, 3), 'UTC', utc('2026-01-07T09:00:00Z')).to).toBe(utc('2026-01-07T00:00:00Z'));
    // A week holding a DST change has 7 local days, 167 hours.
    const w = latestPeriod(weekly(6, 1), 'Europe/Berlin', utc('2026-03-30T05:00:00Z'));
    expect(w).toEqual({ from: utc('2026-03-22T23:00:00Z'), to: utc('2026-03-29T22:00:00Z'), dueAt: utc('2026-03-30T04:00:00Z') });
    expect(w.to - w.from).toBe(7 * D - H);
  });

  it('due once: not before the schedule existed, not again once sent, late crons find the same period', () => {
    const now = utc('2026-01-06T08:02:00Z');
    const p = latestPeriod(daily(8), 'UTC', now);
    // Created after today's hour: waits for tomorrow's.
    expect(duePeriod({ ...daily(8, utc('2026-01-06T08:01:00Z')), lastPeriodStart: null }, 'UTC', now)).toBeNull();
    expect(duePeriod({ ...daily(8, utc('2026-01-06T07:00:00Z')), lastPeriodStart: null }, 'UTC', now)).toEqual(p);
    expect(duePeriod({ ...daily(8), lastPeriodStart: p.from }, 'UTC', now)).toBeNull();
    // Three hours late: the same period; two days late: only the newest.
    expect(duePeriod({ ...daily(8), lastPeriodStart: null }, 'UTC', now + 3 * H)).toEqual(p);
    expect(duePeriod({ ...daily(8), lastPeriodStart: p.from - D }, 'UTC', now + 2 * D)!.from).toBe(p.from + 2 * D);
    // The day after: the next period.
    expect(duePeriod({ ...daily(8), lastPeriodStart: p.from }, 'UTC', now + D)!.from).toBe(p.to);
  });

  it('the previous period: the same local length just before', () => {
    expect(previousPeriod({ from: utc('2026-03-09T04:00:00Z'), to: utc('2026-03-10T04:00:00Z') }, 'day', 'America/New_York')).toEqual({ from: utc('2026-03-08T05:00:00Z'), to: utc('2026-03-09T04:00:00Z') });
    expect(previousPeriod({ from: utc('2026-01-05T00:00:00Z'), to: utc('2026-01-12T00:00:00Z') }, 'week', 'UTC')).toEqual({ from: utc('2025-12-29T00:00:00Z'), to: utc('2026-01-05T00:00:00Z') });
  });

  it('any zone, any time: the newest period due, whole local days, not yet due the next one', () => {
    const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago', 'Pacific/Chatham', 'America/St_Johns'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: utc('2024-01-01T00:00:00Z'), max: utc('2028-12-31T00:00:00Z') }),
        fc.integer({ min: 0, max: 23 }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
        (tz, now, hour, weekday) => {
          const s = weekday === null ? daily(hour) : weekly(hour, weekday);
          const p = latestPeriod(s, tz, now);
          expect(p.dueAt).toBeLessThanOrEqual(now);
          expect(p.dueAt).toBeGreaterThanOrEqual(p.to);
          const days = s.every === 'day' ? 1 : 7;
          // Whole local days: a DST change moves the length by at most an hour (Lord Howe: 30 minutes).
          expect(Math.abs(p.to - p.from - days * D)).toBeLessThanOrEqual(H);
          expect(p.dueAt - p.to).toBeLessThan(hour * H + 2 * H);
          // The next period is not due yet.
          const after = latestPeriod(s, tz, p.dueAt + days * D + 2 * H);
          expect(after.from).toBe(p.to);
          expect(after.dueAt).toBeGreaterThan(now);
        },
      ),
      { numRuns: 300 },
    );
  });
});
