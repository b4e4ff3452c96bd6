import type { Breakdown, Metric, Summary, Timeseries } from '../../shared/reports';
import { LIMITS } from '../../shared/limits';
import { Agg } from '../agg';
import { bucketStart, nextBucket, type Granularity } from '../time';
import type { RawSource } from '../raw/source';
import { newUsersPerBucket } from './growth';
import { load, type SketchColumn } from './load';
import type { GroupBy, ReportQuery } from './plan';
import { avgSessionSeconds } from './sessions';
import { concurrencyPoints, concurrencyValue, isConcurrencyMetric } from './concurrency';

const rate = (a: Agg) => (a.events ? a.errors / a.events : 0);

export function mergeAll(points: Iterable<Agg> | undefined): Agg {
  const total = new Agg();
  for (const a of points ?? []) total.merge(a);
  return total;
}

export async function summary(db: D1Database, src: RawSource, q: ReportQuery): Promise<Summary> {
  const [{ groups }, avg] = await Promise.all([load(db, src, q, { by: { kind: 'none' } }), avgSessionSeconds(db, src, q)]);
  const a = mergeAll(groups.get('')?.values());
  return {
    events: a.events,
    users: a.users.estimate(),
    sessions: a.sessions.estimate(),
    errors: a.errors,
    errorRate: rate(a),
    durationMs: a.durationStats(),
    bytesIn: a.bytesIn,
    bytesOut: a.bytesOut,
    value: a.value,
    avgSessionSeconds: avg,
  };
}

/** The metrics folded from rollups and raw events (newUsers comes from user_first_seen, the concurrency metrics from concurrency_rollups). */
type AggMetric = Exclude<Metric, 'newUsers' | 'concurrentUsers' | 'participantMinutes'>;

function metricValue(a: Agg | undefined, m: AggMetric): number | null {
  if (!a) return m.startsWith('duration') ? null : 0;
  switch (m) {
    case 'events': return a.events;
    case 'users': return a.users.estimate();
    case 'sessions': return a.sessions.estimate();
    case 'errors': return a.errors;
    case 'errorRate': return rate(a);
    case 'bytesIn': return a.bytesIn;
    case 'bytesOut': return a.bytesOut;
    case 'value': return a.value;
    case 'durationAvg': return a.durationStats().avg;
    case 'durationP50': return a.durationStats().p50;
    case 'durationP95': return a.durationStats().p95;
    case 'durationP99': return a.durationStats().p99;
  }
}

/** The sketches none of these metrics reads. */
function unshownSketches(metrics: Metric[]): SketchColumn[] {
  const reads: Record<SketchColumn, boolean> = {
    users: metrics.includes('users'),
    sessions: metrics.includes('sessions'),
    durations: metrics.some((m) => m === 'durationP50' || m === 'durationP95' || m === 'durationP99'),
  };
  return (Object.keys(reads) as SketchColumn[]).filter((c) => !reads[c]);
}

/** Every bucket start of `g` from the one holding `from` up to `to` (too many → null). */
export function bucketStarts(from: number, to: number, g: Granularity, tz: string): number[] | null {
  const out: number[] = [];
  for (let t = bucketStart(from, g, tz); t < to; t = nextBucket(t, g, tz)) {
    if (out.length >= LIMITS.timeseriesMaxPoints) return null;
    out.push(t);
  }
  return out;
}

export async function timeseries(db: D1Database, src: RawSource, q: ReportQuery, granularity: Granularity, metrics: Metric[], starts: number[]): Promise<Timeseries> {
  const folded = metrics.some((m) => m !== 'newUsers' && !isConcurrencyMetric(m));
  const [loaded, newUsers, concurrency] = await Promise.all([
    folded ? load(db, src, q, { by: { kind: 'none' }, granularity, skip: unshownSketches(metrics) }) : undefined,
    metrics.includes('newUsers') ? newUsersPerBucket(db, q, granularity, starts) : undefined,
    metrics.some(isConcurrencyMetric) ? concurrencyPoints(db, q, granularity, starts) : undefined,
  ]);
  const points = loaded?.groups.get('') ?? new Map<number, Agg>();
  return {
    granularity,
    points: starts.map((t, i) => {
      const a = points.get(t);
      const c = concurrency?.get(t);
      const value = (m: Metric) => (m === 'newUsers' ? newUsers![i] : isConcurrencyMetric(m) ? concurrencyValue(c, m) : metricValue(a, m));
      return { t: new Date(t).toISOString(), ...Object.fromEntries(metrics.map((m) => [m, value(m)])) };
    }),
  };
}

export async function breakdown(db: D1Database, src: RawSource, q: ReportQuery, by: GroupBy, byName: string, limit: number): Promise<Breakdown> {
  // A breakdown row has users and durations, not sessions.
  const { groups } = await load(db, src, q, { by, skip: ['sessions'] });
  const rows = [...groups].map(([key, points]) => ({ key, agg: mergeAll(points.values()) }));
  rows.sort((x, y) => y.agg.events - x.agg.events || (x.key < y.key ? -1 : 1));
  return {
    by: byName,
    rows: rows.slice(0, limit).map(({ key, agg: a }) => ({
      key, events: a.events, users: a.users.estimate(), errors: a.errors, errorRate: rate(a),
      bytesIn: a.bytesIn, bytesOut: a.bytesOut, value: a.value, durationMs: a.durationStats(),
    })),
  };
}
