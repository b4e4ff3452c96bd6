import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { QueryTime, RANGES, resolveRange } from '../history/range';
import { rawSource } from '../history/raw/source';
import { isDim, type GroupBy, type ReportFilters, type ReportQuery } from '../history/reports/plan';
import { breakdown, bucketStarts, summary, timeseries } from '../history/reports/stats';
import { previousBuckets, previousRange } from '../history/reports/compare';
import { isConcurrencyMetric } from '../history/reports/concurrency';
import type { WorkspaceRow } from '../history/workspaces';
import { LIMITS } from '../shared/limits';
import { BREAKDOWN_DIMENSIONS } from '../shared/report-params';
import { Breakdown, GRANULARITIES, METRICS, Summary, Timeseries, type Metric } from '../shared/reports';
import { authErrors, bearer, json, WsParams } from './openapi';

export const statsRoutes = new OpenAPIHono<AppEnv>();

const DAY = 86_400_000;

/** Range and filters every history report takes. */
export const ReportParams = z.object({
  range: z.enum(RANGES).optional().meta({ description: 'today, yesterday (workspace time zone), 24h, 7d, 30d, 90d. Default: 30d' }),
  from: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms (inclusive)', type: 'string' }),
  to: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms (exclusive); default now', type: 'string' }),
  type: z.string().max(LIMITS.typeMaxLength).optional(),
  room: z.string().max(LIMITS.roomMaxLength).optional(),
  userId: z.string().max(LIMITS.userIdMaxLength).optional().meta({ description: 'Alone, on the summary, day-or-coarser timeseries and /users, answered from per-user daily rollups (raw events for partial edge days); with other filters, from raw events (within the raw retention); /sessions checks it on the session row' }),
  country: z.string().max(LIMITS.contextStringMaxLength).optional(),
  platform: z.string().max(LIMITS.contextStringMaxLength).optional(),
  device: z.string().max(LIMITS.contextStringMaxLength).optional(),
  browser: z.string().max(LIMITS.contextStringMaxLength).optional(),
  os: z.string().max(LIMITS.contextStringMaxLength).optional(),
})
  // `property.NAME=value` parameters have free names: kept here, checked by propertyFilters.
  .loose();
export type ReportParams = z.infer<typeof ReportParams>;

const bad = (path: string, message: string) => new ApiError('invalid_request', `${path}: ${message}`, [{ path, message }]);

/** One of `range` or `from`/`to`, and `from` before `to` when both are given. */
export function checkRange<T extends Pick<ReportParams, 'range' | 'from' | 'to'>>(p: T): T {
  if (p.range && (p.from !== undefined || p.to !== undefined)) throw bad('range', 'give either range or from/to, not both');
  if (p.from !== undefined && p.to !== undefined && p.from >= p.to) throw bad('from', 'must be before to');
  return p;
}

const PROPERTY_PREFIX = 'property.';

/** The `property.NAME=value` parameters of a query (ANDed), or undefined without any; bad ones are a 400 naming them. */
export function propertyFilters(p: Record<string, unknown>): Record<string, string> | undefined {
  const entries: [string, string][] = [];
  for (const [param, value] of Object.entries(p)) {
    if (!param.startsWith(PROPERTY_PREFIX)) continue;
    const name = param.slice(PROPERTY_PREFIX.length);
    if (!name.length || name.length > LIMITS.propertyNameMaxLength) throw bad(param, `the property name must be 1–${LIMITS.propertyNameMaxLength} characters`);
    if (typeof value !== 'string') throw bad(param, 'give each property filter once');
    if (value.length > LIMITS.propertyStringMaxLength) throw bad(param, `at most ${LIMITS.propertyStringMaxLength} characters`);
    entries.push([name, value]);
  }
  if (entries.length > LIMITS.propertyFiltersMax) throw bad(PROPERTY_PREFIX, `at most ${LIMITS.propertyFiltersMax} property filters`);
  return entries.length ? Object.fromEntries(entries) : undefined;
}

/** Query parameters → [from, to) and filters; default the last 30 days. */
export function reportQuery(ws: WorkspaceRow, p: ReportParams & { properties?: Record<string, string> }, now = Date.now()): ReportQuery {
  const r = resolveRange(checkRange(p), ws.timezone, now);
  const to = r.to ?? now + 1;
  const from = r.from ?? to - 30 * DAY;
  if (from >= to) throw bad('from', 'must be before to');
  const { type, room, userId, country, platform, device, browser, os } = p;
  const filters: ReportFilters = Object.fromEntries(Object.entries({ type, room, userId, country, platform, device, browser, os }).filter(([, v]) => v !== undefined));
  const properties = propertyFilters(p);
  if (properties) filters.properties = properties;
  return { workspaceId: ws.id, tz: ws.timezone, from, to, filters, now, rollupProperties: ws.rollupProperties ?? [] };
}

/** The free-named query parameters every report, the event log and export take. */
export const PROPERTY_FILTERS = `Filters also include \`property.NAME=value\` (any property name of 1–${LIMITS.propertyNameMaxLength} characters, at most ${LIMITS.propertyFiltersMax}, ANDed; the value compared as text, booleans as true/false).`;

const SOURCES =
  `${PROPERTY_FILTERS} ` +
  `Reports read rollups (per minute, hour and local day; minute rollups are kept ${LIMITS.minuteRollupHours} hours, hour rollups ${LIMITS.hourRollupDays} days, day rollups as long as the workspace), and raw events for edges finer than a stored bucket and for what rollups cannot answer. ` +
  `Older than ${LIMITS.hourRollupDays} days, whole local days come from day rollups; hour (and minute) points and partial-day edges that old are counted from raw events, so they only see the raw retention (retentionDays). ` +
  'Rollups answer at most one filter on room, country, platform, device, browser, os or a property named in the workspace’s `rollupProperties` (rolled up since before the range starts; values up to ' +
  `${LIMITS.rollupPropertyValueMaxLength} characters), with or without \`type\`, broken down by nothing, type, or the filtered dimension or property itself (\`by=property:NAME\` for a rollup property). ` +
  'A `userId` filter alone (no other filter) on the summary, a timeseries by day, week or month, or a breakdown by nothing reads per-user daily rollups for the whole local days in the range and raw events for the partial days at its edges. ' +
  'Everything else reads raw events — the R2 archive (hour partitions, only the columns the question needs, row groups skipped by `ts` statistics) plus the hub’s not-yet-drained outbox — within the raw retention: a property outside `rollupProperties`, two or more dimension/property filters, `userId` with another filter or with minute/hour points, a breakdown by `userId` or by a dimension other than the one filtered. ' +
  'Unique users and sessions are HyperLogLog estimates (within 2%); durationMs percentiles come from a DDSketch (within 1% relative error).';

/** Only the summary has avgSessionSeconds. */
const AVG_SESSION =
  'avgSessionSeconds is over participant sessions (presence) that started in the range and have ended: `room`, `userId` and `platform` are the session’s own (its platform is that of its join); `type`, `country`, `device`, `browser` and `os` keep a session when its user has, inside the range and during the session, an event naming its room that matches all of them (raw events from the archive and the outbox, so only within the raw retention).';

const Compare = z.enum(['previous']).optional();

const SummaryParams = ReportParams.extend({
  compare: Compare.meta({ description: '`previous`: add `previous`, the same totals over the range of equal length that ends where this one starts, and `previousRange`' }),
});

const iso = (t: number) => new Date(t).toISOString();

statsRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/summary', tags: ['Reports'], security: bearer,
    summary: 'Totals of a range (read key)',
    description: `${SOURCES} ${AVG_SESSION} With \`compare=previous\` the answer adds \`previous\` (the same fields over [from − (to − from), from), same filters) and \`previousRange\`; both ranges are read at once.`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: SummaryParams },
    responses: { 200: json(Summary, 'Summary of the range'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const src = rawSource(c.env, c.get('workspace').id);
    const q = reportQuery(c.get('workspace'), p);
    if (p.compare !== 'previous') return c.json(await summary(c.env.DB, src, q), 200);
    const prev = previousRange(q.from, q.to);
    const [current, previous] = await Promise.all([summary(c.env.DB, src, q), summary(c.env.DB, src, { ...q, ...prev })]);
    return c.json({ ...current, previous, previousRange: { from: iso(prev.from), to: iso(prev.to) } }, 200);
  },
);

/** How the presence metrics are answered. */
const CONCURRENCY =
  '`concurrentUsers` is the most users present at once in the bucket (presence: joins, leaves, browser heartbeats; the workspace counts distinct users in any room, `room=` one room), ' +
  '`participantMinutes` the time participants spent in rooms inside the bucket (each room counted; a browser viewer stays present until its 90 s heartbeat timeout). ' +
  `Both come from per-minute concurrency rollups written as each UTC minute closes (the minute in progress is not in yet), merged into hours and local days; minute points reach back ${LIMITS.minuteRollupHours} hours and hour points ${LIMITS.hourRollupDays} days (older buckets are 0). They take only the room filter.`;

const TimeseriesParams = ReportParams.extend({
  compare: Compare.meta({ description: '`previous`: add `previous.points`, aligned by offset with `points` (same count), and `previousRange`' }),
  granularity: z.enum(GRANULARITIES).default('hour'),
  metrics: z
    .string()
    .default('events,users')
    .transform((s, ctx) => {
      const list = s.split(',').map((m) => m.trim()).filter(Boolean);
      const unknown = list.filter((m) => !(METRICS as readonly string[]).includes(m));
      if (unknown.length || !list.length) {
        ctx.addIssue({ code: 'custom', message: `unknown metric ${unknown.join(', ') || '(none)'}; use ${METRICS.join(', ')}` });
        return z.NEVER;
      }
      return [...new Set(list)] as Metric[];
    })
    .meta({ description: `Comma-separated: ${METRICS.join(', ')}`, type: 'string' }),
});

/** How a timeseries' previous period is chosen so that its points align with the current ones. */
const COMPARE_POINTS =
  'With `compare=previous` the answer adds `previous.points` (as many as `points`; `previous.points[i]` is `points[i]` one period earlier, with its own `t`) and `previousRange`, read at once with the current range: ' +
  '[from, to) moved back by as many whole buckets as it is long (at least one) — local days, weeks and months for those granularities, so points align one to one across DST changes and months of different lengths — ending where [from, to) starts at the latest. ' +
  'For a range a whole number of buckets long this is [from − (to − from), from).';

/** newUsers is a property of the workspace's whole history, not of a slice of its events. */
const NEW_USERS_UNFILTERED = 'newUsers counts users whose first event in the workspace falls in the bucket, over the whole workspace: ask for it without filters (type, room, userId, country, platform, device, browser, os, property.*)';

statsRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/timeseries', tags: ['Reports'], security: bearer,
    summary: 'Metrics per time bucket (read key)',
    description: `Every bucket from the one holding \`from\` to \`to\` is present; empty ones are 0 (percentiles null). ${COMPARE_POINTS} Day, week (Monday) and month buckets are in the workspace's time zone; at most ${LIMITS.timeseriesMaxPoints} points. \`newUsers\` is exact: users whose first event in the workspace (over its whole history, kept past the raw retention; erased users excluded) falls in the bucket; it takes no filter (a 400). ${CONCURRENCY} ${SOURCES}`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: TimeseriesParams },
    responses: { 200: json(Timeseries, 'One point per bucket'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const ws = c.get('workspace');
    const q = reportQuery(ws, { ...p});
    if (p.metrics.includes('newUsers') && Object.keys(q.filters).length) throw bad('metrics', NEW_USERS_UNFILTERED);
    const narrowing = Object.keys(q.filters).filter((f) => f !== 'room');
    if (p.metrics.some(isConcurrencyMetric) && narrowing.length) throw bad('metrics', `concurrentUsers and participantMinutes come from presence and take only the room filter, not ${narrowing.join(', ')}`);
    const starts = bucketStarts(q.from, q.to, p.granularity, ws.timezone);
    if (!starts) throw bad('granularity', `more than ${LIMITS.timeseriesMaxPoints} ${p.granularity} buckets in this range; pick a coarser granularity or a shorter range`);
    const src = rawSource(c.env, ws.id);
    if (p.compare !== 'previous') return c.json(await timeseries(c.env.DB, src, q, p.granularity, p.metrics, starts), 200);
    const prev = previousBuckets(q.from, q.to, starts, p.granularity, ws.timezone);
    const [current, previous] = await Promise.all([
      timeseries(c.env.DB, src, q, p.granularity, p.metrics, starts),
      timeseries(c.env.DB, src, { ...q, from: prev.from, to: prev.to }, p.granularity, p.metrics, prev.starts),
    ]);
    return c.json({ ...current, previous: { points: previous.points }, previousRange: { from: iso(prev.from), to: iso(prev.to) } }, 200);
  },
);

const BY_VALUES = [...BREAKDOWN_DIMENSIONS, 'property:NAME'].join('|');

function parseBy(by: string): GroupBy | null {
  if (by === 'type') return { kind: 'type' };
  if (by === 'userId') return { kind: 'userId' };
  if (isDim(by)) return { kind: 'dim', dim: by };
  const m = /^property:(.{1,64})$/.exec(by);
  return m ? { kind: 'property', name: m[1] } : null;
}

const BreakdownParams = ReportParams.extend({
  by: z.string().max(80).refine((b) => parseBy(b) !== null, `must be one of ${BY_VALUES}`).meta({ description: BY_VALUES }),
  limit: z.coerce.number().int().min(1).max(LIMITS.breakdownMaxRows).default(LIMITS.breakdownDefaultRows),
});

statsRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/breakdown', tags: ['Reports'], security: bearer,
    summary: 'Totals per type, room, user, country, platform, device, browser, os, error or property (read key)',
    description: `Rows sorted by events, most first; events without the key are left out. \`by=userId\` reads raw events from the archive and the outbox (within the raw retention); \`by=property:NAME\` reads rollups for a property in the workspace’s \`rollupProperties\` (values cut to ${LIMITS.rollupPropertyValueMaxLength} characters, ending in …), raw events for any other. ${SOURCES}`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: BreakdownParams },
    responses: { 200: json(Breakdown, 'Rows per key'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const q = reportQuery(c.get('workspace'), { ...p});
    return c.json(await breakdown(c.env.DB, rawSource(c.env, q.workspaceId), q, parseBy(p.by)!, p.by, p.limit), 200);
  },
);
