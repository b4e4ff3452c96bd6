import { Agg } from '../agg';
import type { Grain, Granularity } from '../time';
import { bucketStart } from '../time';
import type { RawSource } from '../raw/source';
import { foldRaw, type Groups } from './raw-fold';
import { planSegments, rollupFloors, rollupSource, type GroupBy, type ReportQuery } from './plan';
import { daySegments, foldUserDays, rolledUpFor, userDaysAnswer } from './user-days';

export type { Groups };

export interface LoadOptions {
  by: GroupBy;
  /** Time points of this granularity; none: one point for the whole range. */
  granularity?: Granularity;
  /** Sketches the report does not show: not read from rollups (decoding them is most of a report's time). */
  skip?: ReadonlyArray<SketchColumn>;
}

export type SketchColumn = 'users' | 'sessions' | 'durations';

export interface Loaded {
  groups: Groups;
  /** 'rollups' when every full bucket came from rollups; 'raw' when the question needed raw events. */
  source: 'rollups' | 'raw';
}

function slot(groups: Groups, group: string, point: number): Agg | undefined {
  let points = groups.get(group);
  if (!points) groups.set(group, (points = new Map()));
  return points.get(point);
}

function add(groups: Groups, group: string, point: number, agg: Agg): void {
  const cur = slot(groups, group, point);
  if (cur) cur.merge(agg);
  else groups.get(group)!.set(point, agg);
}

/** Month rows answer totals and month points; day and week points older than the day floor come from raw events. */
const maxGrainFor = (g?: Granularity): Grain | 'month' => (g === 'minute' ? 'minute' : g === 'hour' ? 'hour' : g === undefined || g === 'month' ? 'month' : 'day');

export async function load(db: D1Database, src: RawSource, q: ReportQuery, opts: LoadOptions): Promise<Loaded> {
  const groups: Groups = new Map();
  const pointOf = (t: number) => (opts.granularity ? bucketStart(t, opts.granularity, q.tz) : 0);
  // Raw spans (the archive and the hub's outbox) fold row by row into the same groups.
  const raw = (from: number, to: number) => foldRaw(src, q, from, to, opts.by, pointOf, groups);
  if (userDaysAnswer(q, opts.by, opts.granularity)) {
    await Promise.all(daySegments(q.from, q.to, q.tz).map((seg) => seg.grain === 'raw'
      ? raw(seg.from, seg.to)
      : foldUserDays(db, q, seg.from, seg.to, pointOf, (point, agg) => add(groups, '', point, agg))));
    return { groups, source: 'rollups' };
  }
  const source = rollupSource(q.filters, opts.by, await rolledUpFor(db, q, opts.by));
  if (!source) {
    await raw(q.from, q.to);
    return { groups, source: 'raw' };
  }
  // Minute rollups hold per-type totals only: with a dimension, minute edges come from raw events.
  const segments = planSegments(q.from, q.to, maxGrainFor(opts.granularity), q.tz, rollupFloors(q.now, q.tz), source.dim === '');
  // Segments are independent reads: run them together, each folding into the same groups.
  await Promise.all(segments.map((seg) => seg.grain === 'raw'
    ? raw(seg.from, seg.to)
    : foldRollups(db, q, seg.grain, seg.from, seg.to, source, opts, pointOf, groups)));
  return { groups, source: 'rollups' };
}

async function foldRollups(
  db: D1Database, q: ReportQuery, grain: Grain | 'month', from: number, to: number, source: { dim: string; key?: string },
  { by, skip = [] }: LoadOptions, pointOf: (t: number) => number, groups: Groups,
): Promise<void> {
  const binds: unknown[] = [q.workspaceId, grain, from, to, source.dim];
  const sketch = (c: SketchColumn) => (skip.includes(c) ? `NULL AS ${c}` : c);
  // A month segment also reads the day rows of months the cron has not merged yet (or is merging).
  const grains = grain === 'month' ? `grain IN (?2, 'day')` : `grain = ?2`;
  let sql = `SELECT bucket, type, key, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value,
    duration_count AS durationCount, duration_sum AS durationSum, ${sketch('users')}, ${sketch('sessions')}, ${sketch('durations')}
    FROM rollups WHERE workspace_id = ?1 AND ${grains} AND bucket >= ?3 AND bucket < ?4 AND dim = ?5`;
  if (source.key !== undefined) {
    binds.push(source.key);
    sql += ` AND key = ?${binds.length}`;
  }
  if (q.filters.type !== undefined) {
    binds.push(q.filters.type);
    sql += ` AND type = ?${binds.length}`;
  } else if (source.dim === '') {
    // Totals: the all-types row per bucket, or every type's row for a breakdown by type.
    sql += by.kind === 'type' ? ` AND type <> ''` : ` AND type = ''`;
  }
  const { results } = await db.prepare(sql).bind(...binds).all<Parameters<typeof Agg.fromRow>[0] & { bucket: number; type: string; key: string }>();
  for (const r of results) {
    const group = by.kind === 'type' ? r.type : by.kind === 'dim' || by.kind === 'property' ? r.key : '';
    const point = pointOf(r.bucket);
    const cur = slot(groups, group, point);
    if (cur) cur.mergeRow(r);
    else groups.get(group)!.set(point, Agg.fromRow(r));
  }
}
