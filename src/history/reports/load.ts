import { Agg } from '../agg';
import { dimValue } from '../rollups';
import type { Grain, Granularity } from '../time';
import { bucketStart } from '../time';
import { foldRawSummed, groupSql } from './raw-sum';
import { rawWhere } from '../raw-events';
import { MINUTE_ROLLUP_MS, planSegments, rollupSource, type GroupBy, type ReportQuery } from './plan';
import { daySegments, foldUserDays, rolledUpFor, userDaysAnswer } from './user-days';

/** Aggregates keyed by group (breakdown key, '' without one), then by time point (0 without one). */
export type Groups = Map<string, Map<number, Agg>>;

export interface LoadOptions {
  by: GroupBy;
  /** Time points of this granularity; none: one point for the whole range. */
  granularity?: Granularity;
}

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

const maxGrainFor = (g?: Granularity): Grain => (g === 'minute' ? 'minute' : g === 'hour' ? 'hour' : 'day');

export async function load(db: D1Database, q: ReportQuery, opts: LoadOptions): Promise<Loaded> {
  const groups: Groups = new Map();
  const pointOf = (t: number) => (opts.granularity ? bucketStart(t, opts.granularity, q.tz) : 0);
  // Raw spans inside one time point are summed by SQLite; others are folded row by row.
  const raw = (from: number, to: number) =>
    groupSql(opts.by) !== null && pointOf(from) === pointOf(to - 1)
      ? foldRawSummed(db, q, from, to, opts.by, (group, agg) => add(groups, group, pointOf(from), agg))
      : foldRaw(db, q, from, to, opts.by, pointOf, groups);
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
  const segments = planSegments(q.from, q.to, maxGrainFor(opts.granularity), q.tz, q.now - MINUTE_ROLLUP_MS, source.dim === '');
  // Segments are independent reads: run them together, each folding into the same groups.
  await Promise.all(segments.map((seg) => seg.grain === 'raw'
    ? raw(seg.from, seg.to)
    : foldRollups(db, q, seg.grain, seg.from, seg.to, source, opts.by, pointOf, groups)));
  return { groups, source: 'rollups' };
}

async function foldRollups(
  db: D1Database, q: ReportQuery, grain: Grain, from: number, to: number, source: { dim: string; key?: string },
  by: GroupBy, pointOf: (t: number) => number, groups: Groups,
): Promise<void> {
  const binds: unknown[] = [q.workspaceId, grain, from, to, source.dim];
  let sql = `SELECT bucket, type, key, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value,
    duration_count AS durationCount, duration_sum AS durationSum, users, sessions, durations
    FROM rollups WHERE workspace_id = ?1 AND grain = ?2 AND bucket >= ?3 AND bucket < ?4 AND dim = ?5`;
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

interface RawRow {
  seq: number; ts: number; type: string; user_id: string | null; session_id: string | null; room: string | null;
  duration_ms: number | null; bytes_in: number | null; bytes_out: number | null; error: string | null; value: number | null;
  context: string | null; prop: unknown;
}

const RAW_PAGE = 5000;

/** Raw events of [from, to) matching the filters, in keyset pages, folded as they come. */
async function foldRaw(
  db: D1Database, q: ReportQuery, from: number, to: number, by: GroupBy, pointOf: (t: number) => number, groups: Groups,
): Promise<void> {
  const { where, binds } = rawWhere(q, undefined, to); // the keyset cursor below starts at `from`
  // Property names may hold any character, so they are looked up in JS, not in a JSON path.
  const prop = by.kind === 'property' ? 'properties' : 'NULL';
  binds.push(from, 0);
  const cursorAt = binds.length - 1;
  const context = by.kind === 'dim' ? 'context' : 'NULL AS context';
  const sql = `SELECT rowid AS seq, ts, type, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, ${context}, ${prop} AS prop
    FROM events WHERE ${where} AND ts >= ?${cursorAt} AND (ts > ?${cursorAt} OR rowid >= ?${cursorAt + 1})
    ORDER BY ts, rowid LIMIT ${RAW_PAGE}`;
  for (;;) {
    const { results } = await db.prepare(sql).bind(...binds).all<RawRow>();
    for (const r of results) {
      const key = groupKey(r, by);
      if (key === null) continue;
      const point = pointOf(r.ts);
      let agg = slot(groups, key, point);
      if (!agg) groups.get(key)!.set(point, (agg = new Agg()));
      agg.addEvent({ userId: r.user_id, sessionId: r.session_id, durationMs: r.duration_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out, error: r.error, value: r.value });
    }
    if (results.length < RAW_PAGE) return;
    const last = results[results.length - 1];
    binds[cursorAt - 1] = last.ts;
    binds[cursorAt] = last.seq + 1;
  }
}

function groupKey(r: RawRow, by: GroupBy): string | null {
  switch (by.kind) {
    case 'none':
      return '';
    case 'type':
      return r.type;
    case 'userId':
      return r.user_id;
    case 'property': {
      // Own properties only: "constructor" or "toString" must not find Object.prototype's.
      const props = r.prop ? (JSON.parse(r.prop as string) as Record<string, unknown>) : undefined;
      const v = props && Object.hasOwn(props, by.name) ? props[by.name] : undefined;
      return v === null || v === undefined ? null : String(v);
    }
    case 'dim': {
      const context = r.context ? (JSON.parse(r.context) as Record<string, string>) : {};
      return dimValue({ room: r.room, error: r.error, context }, by.dim) ?? null;
    }
  }
}
