import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import { Agg, hashesOf } from './agg';
import { decodeDurations, HyperLogLog, mergeDurations, encodeDurations } from './sketches';
import { propertyDim, propertyKey } from './rollup-properties';
import { bucketStart, type Grain } from './time';

export const GRAINS: Grain[] = ['minute', 'hour', 'day'];
/** Dimensions kept in hour and day rollups (besides type); a breakdown or filter by any other reads raw events. */
export const DIMS = ['room', 'country', 'platform', 'device', 'browser', 'os', 'error', 'connectionType'] as const;
export type Dim = (typeof DIMS)[number];

export function dimValue(e: Pick<NormalizedEvent, 'room' | 'error' | 'context'>, dim: Dim): string | null {
  if (dim === 'room') return e.room;
  if (dim === 'error') return e.error;
  return e.context?.[dim] ?? null;
}

/** The `type` of the all-types total rows (dim ''): event types are 1–64 characters, never empty. */
export const ALL_TYPES = '';

export interface RollupRow {
  /** 'month' only from the cron's merge of old day rows (month-rollups.ts), never from a drain. */
  grain: Grain | 'month';
  bucket: number;
  type: string;
  dim: string;
  key: string;
  agg: Agg;
}

const SEP = '\u0000';
const rowKey = (r: { grain: string; bucket: number; type: string; dim: string; key: string }) => [r.grain, r.bucket, r.type, r.dim, r.key].join(SEP);

interface Node {
  total: Agg;
  dims: Map<string, Map<string, Agg>>;
}

function addTo(node: Node, dim: string, v: string, e: NormalizedEvent, hashes: ReturnType<typeof hashesOf>): void {
  let values = node.dims.get(dim);
  if (!values) node.dims.set(dim, (values = new Map()));
  let agg = values.get(v);
  if (!agg) values.set(v, (agg = new Agg()));
  agg.addEvent(e, hashes);
}

/**
 * Folds events into rollup rows in memory: a drain of thousands of events becomes a few rows.
 * `properties` (the workspace's rollupProperties) are kept as dims `property:NAME` like the built-in ones.
 */
export function aggregate(events: NormalizedEvent[], tz: string, properties: readonly string[] = []): RollupRow[] {
  const propertyDims = properties.map(propertyDim);
  // grain → bucket → type → node; nested maps so no key string is built per event.
  const tree = GRAINS.map(() => new Map<number, Map<string, Node>>());
  for (const e of events) {
    const hashes = hashesOf(e);
    for (let g = 0; g < GRAINS.length; g++) {
      const grain = GRAINS[g];
      const bucket = bucketStart(e.ts, grain, tz);
      let types = tree[g].get(bucket);
      if (!types) tree[g].set(bucket, (types = new Map()));
      let node = types.get(e.type);
      if (!node) types.set(e.type, (node = { total: new Agg(), dims: new Map() }));
      node.total.addEvent(e, hashes);
      // Type '' (no event type is empty): the all-types total, so unfiltered reports merge one row per bucket.
      let all = types.get(ALL_TYPES);
      if (!all) types.set(ALL_TYPES, (all = { total: new Agg(), dims: new Map() }));
      all.total.addEvent(e, hashes);
      // Minute rollups hold per-type totals only: dimension rows per minute would cost a row per event.
      if (grain === 'minute') continue;
      for (const dim of DIMS) {
        const v = dimValue(e, dim);
        if (v !== null && v !== undefined) addTo(node, dim, v, e, hashes);
      }
      for (let p = 0; p < properties.length; p++) {
        const v = propertyKey(e, properties[p]);
        if (v !== null) addTo(node, propertyDims[p], v, e, hashes);
      }
    }
  }
  const rows: RollupRow[] = [];
  tree.forEach((buckets, g) => {
    for (const [bucket, types] of buckets) {
      for (const [type, node] of types) {
        rows.push({ grain: GRAINS[g], bucket, type, dim: '', key: '', agg: node.total });
        for (const [dim, values] of node.dims) for (const [key, agg] of values) rows.push({ grain: GRAINS[g], bucket, type, dim, key, agg });
      }
    }
  });
  return rows;
}

const SELECT_EXISTING = `SELECT r.grain, r.bucket, r.type, r.dim, r.key, r.users, r.sessions, r.durations
FROM json_each(?2) j CROSS JOIN rollups r ON r.workspace_id = ?1 AND r.grain = j.value ->> 0 AND r.bucket = j.value ->> 1
  AND r.type = j.value ->> 2 AND r.dim = j.value ->> 3 AND r.key = j.value ->> 4`;

/**
 * D1 cannot merge sketches in SQL, so the drain reads the stored sketches of the rows it touches
 * and writes back the merge. Drains of one workspace are serialized (drain-writer.ts), and a
 * drain whose batch is already in drain_log rolls back whole, so this stays exact.
 */
export async function mergeStoredSketches(db: D1Database, workspaceId: string, rows: RollupRow[]): Promise<void> {
  const wanted = rows.filter((r) => r.agg.users.isEmpty() === false || r.agg.sessions.isEmpty() === false || r.agg.durationCount > 0);
  const byKey = new Map(wanted.map((r) => [rowKey(r), r]));
  for (let i = 0; i < wanted.length; i += 500) {
    const keys = wanted.slice(i, i + 500).map((r) => [r.grain, r.bucket, r.type, r.dim, r.key]);
    const { results } = await db.prepare(SELECT_EXISTING).bind(workspaceId, JSON.stringify(keys)).all<{
      grain: string; bucket: number; type: string; dim: string; key: string; users: string | null; sessions: string | null; durations: string | null;
    }>();
    for (const s of results) {
      const row = byKey.get(rowKey(s));
      if (!row) continue;
      if (s.users) row.agg.users.merge(HyperLogLog.decode(s.users));
      if (s.sessions) row.agg.sessions.merge(HyperLogLog.decode(s.sessions));
      if (s.durations) mergeDurations(row.agg.durations, decodeDurations(s.durations));
    }
  }
}

const UPSERT = `INSERT INTO rollups (workspace_id, grain, bucket, type, dim, key, events, errors, bytes_in, bytes_out, value,
  duration_count, duration_sum, users, sessions, durations)
SELECT ?1, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6,
  j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10, j.value ->> 11, j.value ->> 12, j.value ->> 13, j.value ->> 14
FROM json_each(?2) j WHERE true
ON CONFLICT (workspace_id, grain, bucket, type, dim, key) DO UPDATE SET
  events = events + excluded.events, errors = errors + excluded.errors,
  bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out, value = value + excluded.value,
  duration_count = duration_count + excluded.duration_count, duration_sum = duration_sum + excluded.duration_sum,
  users = coalesce(excluded.users, users), sessions = coalesce(excluded.sessions, sessions),
  durations = coalesce(excluded.durations, durations)`;

/** Bound JSON per statement stays well under D1's 2 MB value limit. */
const CHUNK_BYTES = 700_000;

/** Bulk upserts (counts add; sketch columns hold the already merged sketches). */
export function rollupStatements(db: D1Database, workspace: WorkspaceRef, rows: RollupRow[]): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (chunk.length) out.push(db.prepare(UPSERT).bind(workspace.id, `[${chunk.join(',')}]`));
    chunk = [];
    bytes = 0;
  };
  for (const r of rows) {
    const a = r.agg;
    const json = JSON.stringify([
      r.grain, r.bucket, r.type, r.dim, r.key, a.events, a.errors, a.bytesIn, a.bytesOut, a.value, a.durationCount, a.durationSum,
      a.users.isEmpty() ? null : a.users.encode(), a.sessions.isEmpty() ? null : a.sessions.encode(), encodeDurations(a.durations),
    ]);
    if (bytes + json.length > CHUNK_BYTES) flush();
    chunk.push(json);
    bytes += json.length + 1;
  }
  flush();
  return out;
}
