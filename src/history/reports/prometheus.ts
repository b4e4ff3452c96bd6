import { Agg } from '../agg';
import { MINUTE } from '../time';
import type { RawSource } from '../raw/source';
import { load } from './load';
import type { ReportQuery } from './plan';
import { mergeAll } from './stats';

/** Fixed upper bounds (ms) of the durationMs histogram. */
export const DURATION_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** Totals per type over every day rollup the workspace has (day rollups are never pruned). */
export async function totalsByType(db: D1Database, workspaceId: string): Promise<Map<string, Agg>> {
  const { results } = await db
    .prepare(`SELECT type, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value, duration_count AS durationCount,
        duration_sum AS durationSum, NULL AS users, NULL AS sessions, durations
      FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND dim = '' AND type <> ''`)
    .bind(workspaceId)
    .all<Parameters<typeof Agg.fromRow>[0] & { type: string }>();
  const out = new Map<string, Agg>();
  for (const r of results) {
    const a = Agg.fromRow(r);
    const cur = out.get(r.type);
    if (cur) cur.merge(a);
    else out.set(r.type, a);
  }
  return out;
}

/** Totals per type of the events of a report query (the same sources as the summary). */
export async function totalsByTypeIn(db: D1Database, src: RawSource, q: ReportQuery): Promise<Map<string, Agg>> {
  const { groups } = await load(db, src, q, { by: { kind: 'type' } });
  return new Map([...groups].map(([type, points]) => [type, mergeAll(points.values())]));
}

/** Unique users with an event matching the query's filters in the 5 minutes before its `now`. */
export async function onlineMatching(db: D1Database, src: RawSource, q: ReportQuery): Promise<number> {
  const { groups } = await load(db, src, { ...q, from: q.now - 5 * MINUTE, to: q.now + 1 }, { by: { kind: 'none' } });
  return mergeAll(groups.get('')?.values()).users.estimate();
}

/** Unique users with an event in the last 5 minutes, from minute rollups. */
export async function onlineFromRollups(db: D1Database, workspaceId: string, now: number): Promise<number> {
  const from = Math.floor((now - 5 * MINUTE) / MINUTE) * MINUTE;
  const { results } = await db
    .prepare(`SELECT users FROM rollups WHERE workspace_id = ?1 AND grain = 'minute' AND bucket >= ?2 AND type = '' AND dim = '' AND users IS NOT NULL`)
    .bind(workspaceId, from)
    .all<{ users: string }>();
  const a = new Agg();
  for (const r of results) a.merge(Agg.fromRow({ events: 0, errors: 0, bytesIn: 0, bytesOut: 0, value: 0, durationCount: 0, durationSum: 0, users: r.users, sessions: null, durations: null }));
  return a.users.estimate();
}

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toPrecision(15).replace(/\.?0+$/, ''));

export interface Gauges {
  onlineUsers: number;
  /** Left out of the exposition when undefined (a filtered query: connections are no events). */
  connections?: number;
  /** The hub's drain to D1 (left out when the hub could not answer, or for a filtered query). */
  pipeline?: { outboxBatches: number; outboxLagSeconds: number; drainFailures: number; deadLetterBatches: number };
}

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(totals: Map<string, Agg>, gauges: Gauges): string {
  const types = [...totals.keys()].sort();
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  family('edgepulse_events_total', 'counter', 'Events stored, by type.', types.map((t) => `edgepulse_events_total{type="${label(t)}"} ${totals.get(t)!.events}`));
  family('edgepulse_errors_total', 'counter', 'Events with an error, by type.', types.map((t) => `edgepulse_errors_total{type="${label(t)}"} ${totals.get(t)!.errors}`));
  const all = new Agg();
  for (const a of totals.values()) all.merge(a);
  family('edgepulse_bytes_in_total', 'counter', 'Sum of bytesIn.', [`edgepulse_bytes_in_total ${num(all.bytesIn)}`]);
  family('edgepulse_bytes_out_total', 'counter', 'Sum of bytesOut.', [`edgepulse_bytes_out_total ${num(all.bytesOut)}`]);
  family('edgepulse_online_users', 'gauge', 'Users with an event in the last 5 minutes.', [`edgepulse_online_users ${gauges.onlineUsers}`]);
  if (gauges.connections !== undefined) {
    family('edgepulse_live_connections', 'gauge', 'Open live WebSocket and SSE connections.', [`edgepulse_live_connections ${gauges.connections}`]);
  }
  const p = gauges.pipeline;
  if (p) {
    family('edgepulse_outbox_batches', 'gauge', 'Acknowledged batches not yet drained into history (D1).', [`edgepulse_outbox_batches ${p.outboxBatches}`]);
    family('edgepulse_outbox_lag_seconds', 'gauge', 'How long the oldest undrained batch has waited (0 when none waits).', [`edgepulse_outbox_lag_seconds ${num(p.outboxLagSeconds)}`]);
    family('edgepulse_drain_failures', 'gauge', 'Failed drains into D1 in a row (0 once one succeeds).', [`edgepulse_drain_failures ${p.drainFailures}`]);
    family('edgepulse_dead_letter_batches', 'gauge', 'Batches D1 refused by themselves, set aside (GET …/dead-letters).', [`edgepulse_dead_letter_batches ${p.deadLetterBatches}`]);
  }
  // Cumulative bucket counts from the DDSketch bins (each bin's value within 1% of its members).
  const st = all.durations.store;
  const bins: Array<[number, number]> = [];
  for (let i = 0; i < st.bins.length; i++) if (st.bins[i]) bins.push([all.durations.mapping.value(i + st.offset), st.bins[i]]);
  const zero = all.durations.zeroCount;
  const hist = DURATION_BUCKETS.map((le) => `edgepulse_duration_ms_bucket{le="${le}"} ${zero + bins.filter(([v]) => v <= le).reduce((s, [, c]) => s + c, 0)}`);
  hist.push(`edgepulse_duration_ms_bucket{le="+Inf"} ${all.durationCount}`);
  hist.push(`edgepulse_duration_ms_sum ${num(all.durationSum)}`, `edgepulse_duration_ms_count ${all.durationCount}`);
  family('edgepulse_duration_ms', 'histogram', 'durationMs of events (bucket counts within 1% of the bounds).', hist);
  return `${lines.join('\n')}\n`;
}
