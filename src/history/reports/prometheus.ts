import type { ScrapeLive } from '../../live/scrape-live';
import { LIMITS } from '../../shared/limits';
import { Agg } from '../agg';
import { MINUTE } from '../time';
import type { RawSource } from '../raw/source';
import { load } from './load';
import type { ReportQuery } from './plan';
import { mergeAll } from './stats';

/** Fixed upper bounds (ms) of the durationMs histogram. */
export const DURATION_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** Totals per type over every day and month rollup the workspace has (neither is pruned; old days merge into months). */
export async function totalsByType(db: D1Database, workspaceId: string): Promise<Map<string, Agg>> {
  const { results } = await db
    .prepare(`SELECT type, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value, duration_count AS durationCount,
        duration_sum AS durationSum, NULL AS users, NULL AS sessions, durations
      FROM rollups WHERE workspace_id = ?1 AND grain IN ('day', 'month') AND dim = '' AND type <> ''`)
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
  /** Platforms, gauges and rooms from the live hub (left out when it could not answer, or for a filtered query). */
  live?: ScrapeLive;
}

/** The most frequent `max` keys of `counts`, the rest summed under OTHER (series stay bounded whatever clients send). */
export function topWithOther(counts: Map<string, number>, max: number): Map<string, number> {
  if (counts.size <= max) return counts;
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out = new Map(sorted.slice(0, max));
  out.set(OTHER, (out.get(OTHER) ?? 0) + sorted.slice(max).reduce((sum, [, n]) => sum + n, 0));
  return out;
}

/** The label value of what is beyond a family's bound. */
export const OTHER = '_other';
/** The platform label of online users whose context names none. */
export const NO_PLATFORM = 'unknown';

/** Event types by events: at most LIMITS.metricsTypesMax, the rest merged under OTHER. */
function boundTypes(totals: Map<string, Agg>): Map<string, Agg> {
  if (totals.size <= LIMITS.metricsTypesMax) return totals;
  const kept = new Set([...totals].sort((a, b) => b[1].events - a[1].events || (a[0] < b[0] ? -1 : 1)).slice(0, LIMITS.metricsTypesMax).map(([t]) => t));
  const out = new Map<string, Agg>();
  for (const [t, a] of totals) {
    const key = kept.has(t) ? t : OTHER;
    const cur = out.get(key);
    if (cur) cur.merge(a);
    else out.set(key, a);
  }
  return out;
}

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(allTotals: Map<string, Agg>, gauges: Gauges): string {
  const totals = boundTypes(allTotals);
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
  if (gauges.live) liveFamilies(gauges.live, gauges.onlineUsers, family);
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

type Family = (name: string, type: string, help: string, samples: string[]) => void;

/** Online users by platform, gauges by name, room participants by room: each family bounded (LIMITS.metrics*). */
function liveFamilies(live: ScrapeLive, onlineUsers: number, family: Family): void {
  const platforms = new Map(Object.entries(live.platforms));
  const named = [...platforms.values()].reduce((a, b) => a + b, 0);
  if (onlineUsers > named) platforms.set(NO_PLATFORM, (platforms.get(NO_PLATFORM) ?? 0) + onlineUsers - named);
  const byPlatform = [...topWithOther(platforms, LIMITS.metricsPlatformsMax)].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  family('edgepulse_online_users_by_platform', 'gauge', `Online users by the platform of their latest event (${NO_PLATFORM}: none given; past the ${LIMITS.metricsPlatformsMax} largest, ${OTHER}); they sum to edgepulse_online_users.`,
    byPlatform.map(([p, n]) => `edgepulse_online_users_by_platform{platform="${label(p)}"} ${n}`));
  const names = Object.keys(live.gauges).sort();
  family('edgepulse_gauge', 'gauge', 'The latest sample of each gauge sent on events (label name: the gauge name as sent), heard within the last hour.',
    // The shortest text that reads back as the same double: equal to the reports' numbers.
    names.map((n) => `edgepulse_gauge{name="${label(n)}"} ${String(live.gauges[n]!)}`));
  family('edgepulse_room_participants', 'gauge', `Participants present in a room now (presence), for the ${LIMITS.metricsRoomsMax} busiest rooms.`,
    live.rooms.map((r) => `edgepulse_room_participants{room="${label(r.room)}"} ${r.participants}`));
  family('edgepulse_rooms_in_use', 'gauge', `Rooms with at least one participant present now, listed or not (among the ${LIMITS.liveRoomsMax} rooms the hub holds live).`, [`edgepulse_rooms_in_use ${live.roomsInUse}`]);
}
