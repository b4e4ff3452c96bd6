import type { GaugeNames, GaugePoint, GaugeSeries } from '../../shared/gauges';
import { LIMITS } from '../../shared/limits';
import type { Granularity as ReportGranularity } from '../../shared/report-params';
import { foldSample, mergeFold, type GaugeFold } from '../gauge-rollups';
import { scanRaw, type RawSource } from '../raw/source';
import { bucketStart, type Grain } from '../time';
import { planSegments, rollupFloors } from './plan';

export interface GaugeQuery {
  workspaceId: string;
  tz: string;
  from: number;
  to: number;
  now: number;
  name: string;
}

type Folds = Map<number, GaugeFold>;

const maxGrainFor = (g: ReportGranularity): Grain => (g === 'minute' ? 'minute' : g === 'hour' ? 'hour' : 'day');

/**
 * One gauge per bucket of `granularity` over [from, to): whole stored buckets from gauge_rollups (the
 * coarsest that fit, like the event reports), edges finer than a stored bucket and grains already
 * pruned from raw events (the archive and the hub's outbox).
 */
export async function gaugeSeries(db: D1Database, src: RawSource, q: GaugeQuery, granularity: ReportGranularity, starts: number[]): Promise<GaugeSeries> {
  const folds: Folds = new Map();
  const pointOf = (t: number) => bucketStart(t, granularity, q.tz);
  const segments = planSegments(q.from, q.to, maxGrainFor(granularity), q.tz, rollupFloors(q.now));
  await Promise.all(segments.map((seg) => seg.grain === 'raw'
    ? foldRawGauge(src, q, seg.from, seg.to, pointOf, folds)
    : foldGaugeRollups(db, q, seg.grain === 'month' ? 'day' : seg.grain, seg.from, seg.to, pointOf, folds)));
  return { name: q.name, granularity, points: starts.map((t) => toPoint(t, folds.get(t))) };
}

function toPoint(t: number, f: GaugeFold | undefined): GaugePoint {
  const at = new Date(t).toISOString();
  if (!f) return { t: at, min: null, avg: null, max: null, last: null, samples: 0 };
  return { t: at, min: f.min, avg: f.sum / f.samples, max: f.max, last: f.last, samples: f.samples };
}

async function foldGaugeRollups(db: D1Database, q: GaugeQuery, grain: Grain, from: number, to: number, pointOf: (t: number) => number, folds: Folds): Promise<void> {
  const { results } = await db
    .prepare(`SELECT bucket, "min" AS min, "max" AS max, "sum" AS sum, samples, "last" AS last, last_ts AS lastTs
      FROM gauge_rollups WHERE workspace_id = ?1 AND grain = ?2 AND bucket >= ?3 AND bucket < ?4 AND name = ?5`)
    .bind(q.workspaceId, grain, from, to, q.name)
    .all<GaugeFold & { bucket: number }>();
  for (const { bucket, ...f } of results) {
    const point = pointOf(bucket);
    folds.set(point, mergeFold(folds.get(point), f));
  }
}

async function foldRawGauge(src: RawSource, q: GaugeQuery, from: number, to: number, pointOf: (t: number) => number, folds: Folds): Promise<void> {
  for await (const rows of scanRaw(src, { workspaceId: q.workspaceId, from, to, filters: {} }, ['ts', 'gauges'])) {
    for (const r of rows) {
      if (!r.gauges) continue;
      const gauges = JSON.parse(r.gauges) as Record<string, number>;
      if (!Object.hasOwn(gauges, q.name)) continue;
      const point = pointOf(r.ts!);
      folds.set(point, foldSample(folds.get(point), gauges[q.name]!, r.ts!));
    }
  }
}

/** Gauge names with samples in the local days the range touches (day rollups are never pruned), sorted, at most LIMITS.gaugeNamesListed. */
export async function gaugeNames(db: D1Database, q: Omit<GaugeQuery, 'name'>): Promise<GaugeNames> {
  const { results } = await db
    .prepare(`SELECT DISTINCT name FROM gauge_rollups WHERE workspace_id = ?1 AND grain = 'day' AND bucket >= ?2 AND bucket < ?3 ORDER BY name LIMIT ?4`)
    .bind(q.workspaceId, bucketStart(q.from, 'day', q.tz), q.to, LIMITS.gaugeNamesListed)
    .all<{ name: string }>();
  return { names: results.map((r) => r.name) };
}
