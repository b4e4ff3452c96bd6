import { LIMITS } from '../../shared/limits';
import { fitsRollups, propertyDim } from '../rollup-properties';
import { DIMS, type Dim } from '../rollups';
import { bucketStart, ceilBucket, DAY, HOUR, type Grain } from '../time';

export const FILTER_DIMS = ['room', 'country', 'platform', 'device', 'browser', 'os'] as const;

export interface ReportFilters {
  type?: string;
  room?: string;
  userId?: string;
  country?: string;
  platform?: string;
  device?: string;
  browser?: string;
  os?: string;
  /** `property.NAME=value` filters (ANDed): from rollups for the workspace's rollupProperties, else from the archive. */
  properties?: Record<string, string>;
}

export interface ReportQuery {
  workspaceId: string;
  tz: string;
  from: number;
  to: number;
  filters: ReportFilters;
  now: number;
  /** The workspace's rollupProperties: filters and breakdowns on them may read rollups. */
  rollupProperties?: readonly string[];
}

/** What a report groups by besides time: nothing, type, a rollup dimension, or a raw-only key. */
export type GroupBy = { kind: 'none' } | { kind: 'type' } | { kind: 'dim'; dim: Dim } | { kind: 'userId' } | { kind: 'property'; name: string };

/** How far back minute rollups reach: the cron deletes older ones. */
export const MINUTE_ROLLUP_MS = LIMITS.minuteRollupHours * HOUR;
/** How far back hour rollups reach: the cron deletes older ones; day rollups answer before that. */
export const HOUR_ROLLUP_MS = LIMITS.hourRollupDays * DAY;
/** How far back day rollups reach (to the start of that local month): the cron merges older ones into month rows. */
export const DAY_ROLLUP_MS = LIMITS.dayRollupDays * DAY;

/**
 * The oldest instant each finer grain's rollups still cover at `now`. `day` is set for the event
 * rollups (with the workspace's time zone): before it, whole local months come from month rows.
 */
export type RollupFloors = { minute: number; hour: number; day?: number };
export function rollupFloors(now: number, tz?: string): RollupFloors {
  const floors: RollupFloors = { minute: now - MINUTE_ROLLUP_MS, hour: now - HOUR_ROLLUP_MS };
  if (tz !== undefined) floors.day = monthFloor(now, tz);
  return floors;
}

/** The first local month whose day rows are kept at `now`: older months are (or are about to be) month rows. */
export const monthFloor = (now: number, tz: string): number => bucketStart(now - DAY_ROLLUP_MS, 'month', tz);

/** `month` segments read month rows and the day rows the cron has not merged yet (never both for one row key). */
export type Segment = { grain: Grain | 'month' | 'raw'; from: number; to: number };

/** A property rolled up for this query: in rollupProperties, and complete from the query's start. */
export type RolledUp = (property: string) => boolean;

/** The properties a query names, in its filters or its breakdown. */
export function queriedProperties(f: ReportFilters, by: GroupBy): string[] {
  const names = Object.keys(f.properties ?? {});
  return by.kind === 'property' ? [...names, by.name] : names;
}

/**
 * Rollups can answer: no userId filter, at most one filter on a dimension or rolled-up property,
 * and a breakdown by type, by nothing, or by the filtered dimension (or property) itself.
 * Anything else reads raw events.
 */
export function rollupSource(f: ReportFilters, by: GroupBy, rolledUp: RolledUp = () => false): { dim: string; key?: string } | null {
  if (f.userId !== undefined || by.kind === 'userId') return null;
  if (by.kind === 'property' && !rolledUp(by.name)) return null;
  const properties = Object.entries(f.properties ?? {});
  if (properties.some(([name, value]) => !rolledUp(name) || !fitsRollups(value))) return null;
  const filtered = [
    ...FILTER_DIMS.filter((d) => f[d] !== undefined).map((d) => ({ dim: d as string, key: f[d] })),
    ...properties.map(([name, value]) => ({ dim: propertyDim(name), key: value as string | undefined })),
  ];
  if (filtered.length > 1) return null;
  const fd = filtered[0];
  const byDim = by.kind === 'dim' ? by.dim : by.kind === 'property' ? propertyDim(by.name) : null;
  if (byDim !== null) {
    if (fd && fd.dim !== byDim) return null;
    return { dim: byDim, key: fd?.key };
  }
  return fd ?? { dim: '', key: '' };
}

/**
 * Splits [from, to) into the coarsest stored buckets that fit (no coarser than `maxGrain`), finer
 * ones at the edges, and raw events for what no rollup holds (sub-minute edges, minutes older than
 * the minute floor, partial days and hour points older than the hour floor, partial months and day
 * points older than the day floor). Never a bucket of a grain older than its floor: the cron deletes
 * (or merges) those. Month buckets exist only before the day floor.
 */
export function planSegments(from: number, to: number, maxGrain: Grain | 'month', tz: string, floors: RollupFloors, withMinutes = true): Segment[] {
  const order: (Grain | 'month')[] = floors.day === undefined ? ['day', 'hour', 'minute'] : ['month', 'day', 'hour', 'minute'];
  const start = Math.max(0, order.indexOf(maxGrain));
  const grains = order.slice(start).filter((g) => withMinutes || g !== 'minute');
  return split(from, to, grains, tz, floors);
}

function split(from: number, to: number, grains: (Grain | 'month')[], tz: string, floors: RollupFloors): Segment[] {
  if (from >= to) return [];
  if (!grains.length) return [{ grain: 'raw', from, to }];
  const [g, ...finer] = grains;
  if (g === 'month') {
    // Month rows hold only what lies before the day floor (a local month start).
    const hi = Math.min(to, floors.day!);
    const a = ceilBucket(from, 'month', tz);
    const b = hi > from ? bucketStart(hi, 'month', tz) : a;
    if (a >= b) return split(from, to, finer, tz, floors);
    return [...split(from, a, finer, tz, floors), { grain: 'month', from: a, to: b }, ...split(b, to, finer, tz, floors)];
  }
  const floor = floors[g];
  if (floor !== undefined) {
    // Before this grain's floor only finer grains (older still: raw events) can answer.
    const lo = Math.max(from, ceilBucket(floor, g, tz));
    if (lo >= to) return split(from, to, finer, tz, floors);
    if (lo > from) return [...split(from, lo, finer, tz, floors), ...split(lo, to, grains, tz, floors)];
  }
  const a = ceilBucket(from, g, tz);
  const b = bucketStart(to, g, tz);
  if (a >= b) return split(from, to, finer, tz, floors);
  return [...split(from, a, finer, tz, floors), { grain: g, from: a, to: b }, ...split(b, to, finer, tz, floors)];
}

export const isDim = (s: string): s is Dim => (DIMS as readonly string[]).includes(s);
