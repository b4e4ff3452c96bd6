import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { onlineFromRollups, onlineMatching, renderMetrics, totalsByType, totalsByTypeIn, type Gauges } from '../history/reports/prometheus';
import { toRef, type WorkspaceRow } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, WsParams } from './openapi';
import { rawSource } from '../history/raw/source';
import { PROPERTY_FILTERS, propertyFilters, ReportParams, reportQuery } from './stats';
import { strictQuery } from './query-params';

export const metricsRoutes = new OpenAPIHono<AppEnv>();

/** Live gauges and drain health from the workspace's hub; online users from the last 5 minutes of rollups if it cannot answer. */
async function gauges(env: Env, ws: WorkspaceRow): Promise<Gauges> {
  try {
    const { onlineUsers, connections, live, ...pipeline } = await workspaceHub(env, ws.id).scrape(toRef(ws));
    return { onlineUsers, connections, pipeline, live };
  } catch {
    // The hub cannot answer: fall back to history.
  }
  return { onlineUsers: await onlineFromRollups(env.DB, ws.id, Date.now()), connections: 0 };
}

metricsRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/metrics', tags: ['Reports'], security: bearer,
    summary: 'Prometheus text exposition 0.0.4 (read key)',
    description:
      `Counters \`edgepulse_events_total{type}\` and \`edgepulse_errors_total{type}\` (the ${LIMITS.metricsTypesMax} types with the most events; the rest summed as \`type="_other"\`), \`edgepulse_bytes_in_total\`, \`edgepulse_bytes_out_total\`; ` +
      'gauges `edgepulse_online_users` (an event in the last 5 minutes) and `edgepulse_live_connections` from the live hub, and the health of its drain into history: `edgepulse_outbox_batches`, `edgepulse_outbox_lag_seconds` (alert when it stays above a few seconds) and `edgepulse_drain_failures`, and `edgepulse_dead_letter_batches` (batches D1 refused by themselves, set aside: see …/dead-letters; alert when above 0); ' +
      'live from the hub as well: `edgepulse_online_users_by_platform{platform}` (the platform of each online user’s latest event; `unknown` when none was given; they sum to `edgepulse_online_users`; ' +
      `past the ${LIMITS.metricsPlatformsMax} largest, \`_other\`), \`edgepulse_gauge{name}\` (the latest sample of each gauge sent on events, heard within the last hour — one family labeled by the gauge name as sent, since names may hold \`.\` and \`-\`, which metric names cannot), ` +
      `\`edgepulse_room_participants{room}\` (participants present now, the ${LIMITS.metricsRoomsMax} busiest rooms) and \`edgepulse_rooms_in_use\`; so a scrape has a bounded number of series whatever the workspace holds; ` +
      'histogram `edgepulse_duration_ms` with fixed buckets 5…30000 ms (bucket counts from a DDSketch, within 1% of the bounds). ' +
      'Without parameters the counters and histogram cover all history (day rollups). With `range` or `from`/`to` and the filters of the other reports they cover the events of the summary for the same query ' +
      '(the same sources: a `userId` filter, or two or more of room/country/platform/device/browser/os, read raw events and so only see the raw retention); without `range` or `from` they start at the beginning of history, so they still only grow. ' +
      'Gauges are always now: with a filter, `edgepulse_online_users` counts users with a matching event in the last 5 minutes of history (events reach it within 5 s), and `edgepulse_live_connections`, the drain gauges, platforms, gauges and rooms are left out (they are no events, so no filter describes them). ' +
      PROPERTY_FILTERS,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: strictQuery(ReportParams, { properties: true }) },
    responses: { 200: { description: 'Metrics', content: { 'text/plain; version=0.0.4': { schema: z.string() } } }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const p = c.req.valid('query');
    // No parameters: all history from day rollups, as scrapers have always had it.
    if (!Object.values(p).some((v) => v !== undefined) && !propertyFilters(p)) {
      const [totals, g] = await Promise.all([totalsByType(c.env.DB, ws.id), gauges(c.env, ws)]);
      return exposition(renderMetrics(totals, g));
    }
    const q = reportQuery(ws, { ...(p.range === undefined && p.from === undefined ? { ...p, from: 0 } : p) });
    const filtered = Object.keys(q.filters).length > 0;
    const [totals, g] = await Promise.all([
      totalsByTypeIn(c.env.DB, rawSource(c.env, ws.id), q),
      filtered ? onlineMatching(c.env.DB, rawSource(c.env, ws.id), q).then((onlineUsers): Gauges => ({ onlineUsers })) : gauges(c.env, ws),
    ]);
    return exposition(renderMetrics(totals, g));
  },
);

function exposition(text: string): never {
  return new Response(text, {
    status: 200,
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  }) as never;
}
