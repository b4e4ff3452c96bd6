import type { NormalizedEvent } from '../ingest/types';
import { GRAINS } from './rollups';
import { bucketStart, type Grain } from './time';

/** The samples of one gauge in one bucket: min, max, sum, count, and the latest with its time. */
export interface GaugeFold {
  min: number;
  max: number;
  sum: number;
  samples: number;
  last: number;
  lastTs: number;
}

export interface GaugeRollupRow extends GaugeFold {
  grain: Grain;
  bucket: number;
  name: string;
}

/** Adds a sample; a later one at the same time wins `last` (arrival order, like the upsert). */
export function foldSample(f: GaugeFold | undefined, v: number, ts: number): GaugeFold {
  if (!f) return { min: v, max: v, sum: v, samples: 1, last: v, lastTs: ts };
  f.min = Math.min(f.min, v);
  f.max = Math.max(f.max, v);
  f.sum += v;
  f.samples++;
  if (ts >= f.lastTs) {
    f.last = v;
    f.lastTs = ts;
  }
  return f;
}

/** Merges `b` into `a`; on equal last times `b` (the later write) wins. */
export function mergeFold(a: GaugeFold | undefined, b: GaugeFold): GaugeFold {
  if (!a) return { ...b };
  a.min = Math.min(a.min, b.min);
  a.max = Math.max(a.max, b.max);
  a.sum += b.sum;
  a.samples += b.samples;
  if (b.lastTs >= a.lastTs) {
    a.last = b.last;
    a.lastTs = b.lastTs;
  }
  return a;
}

/** Folds the gauges of events into one row per grain, bucket and name (minute buckets UTC, hour and day local, like `rollups`). */
export function aggregateGauges(events: NormalizedEvent[], tz: string): GaugeRollupRow[] {
  const rows = new Map<string, GaugeRollupRow>();
  for (const e of events) {
    if (!e.gauges) continue;
    for (const grain of GRAINS) {
      const bucket = bucketStart(e.ts, grain, tz);
      for (const [name, v] of Object.entries(e.gauges)) {
        const key = `${grain}\u0000${bucket}\u0000${name}`;
        const row = rows.get(key);
        if (row) foldSample(row, v, e.ts);
        else rows.set(key, { grain, bucket, name, ...foldSample(undefined, v, e.ts) });
      }
    }
  }
  return [...rows.values()];
}

// Every SET expression reads the row as it was: min/max/sum/samples merge, `last` follows the later last_ts (ties: this drain, the later one).
const UPSERT = `INSERT INTO gauge_rollups (workspace_id, grain, bucket, name, "min", "max", "sum", samples, "last", last_ts)
SELECT ?1, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8
FROM json_each(?2) j WHERE true
ON CONFLICT (workspace_id, grain, bucket, name) DO UPDATE SET
  "min" = min(gauge_rollups."min", excluded."min"), "max" = max(gauge_rollups."max", excluded."max"),
  "sum" = gauge_rollups."sum" + excluded."sum", samples = gauge_rollups.samples + excluded.samples,
  "last" = CASE WHEN excluded.last_ts >= gauge_rollups.last_ts THEN excluded."last" ELSE gauge_rollups."last" END,
  last_ts = max(gauge_rollups.last_ts, excluded.last_ts)`;

/** Bound JSON per statement stays well under D1's 2 MB value limit. */
const CHUNK_ROWS = 5000;

/** The drain's gauge_rollups upserts for its events (none without gauges): part of its one D1 batch. */
export function gaugeRollupStatements(db: D1Database, workspace: { id: string; timezone: string }, events: NormalizedEvent[]): D1PreparedStatement[] {
  const rows = aggregateGauges(events, workspace.timezone);
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    const chunk = rows.slice(i, i + CHUNK_ROWS).map((r) => [r.grain, r.bucket, r.name, r.min, r.max, r.sum, r.samples, r.last, r.lastTs]);
    out.push(db.prepare(UPSERT).bind(workspace.id, JSON.stringify(chunk)));
  }
  return out;
}
