import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { onlineFromRollups, renderMetrics, totalsByType, type Gauges } from '../history/reports/prometheus';
import { toRef, type WorkspaceRow } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { authErrors, bearer, WsParams } from './openapi';

export const metricsRoutes = new OpenAPIHono<AppEnv>();

type SnapshotLike = { data?: { onlineUsers?: number }; meta?: { connections?: number } };

/** Live gauges from the workspace's hub; from the last 5 minutes of rollups if it cannot answer. */
async function gauges(env: Env, ws: WorkspaceRow): Promise<Gauges> {
  try {
    const stub = workspaceHub(env, ws.id) as unknown as { liveSnapshot(ref: ReturnType<typeof toRef>): Promise<SnapshotLike> };
    const snap = await stub.liveSnapshot(toRef(ws));
    if (typeof snap?.data?.onlineUsers === 'number') {
      return { onlineUsers: snap.data.onlineUsers, connections: snap.meta?.connections ?? 0 };
    }
  } catch {
    // The hub has no live snapshot: fall back to history.
  }
  return { onlineUsers: await onlineFromRollups(env.DB, ws.id, Date.now()), connections: 0 };
}

metricsRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/metrics', tags: ['Reports'], security: bearer,
    summary: 'Prometheus text exposition 0.0.4 (read key)',
    description:
      'Counters `edgepulse_events_total{type}` and `edgepulse_errors_total{type}` (all history, from day rollups), `edgepulse_bytes_in_total`, `edgepulse_bytes_out_total`; ' +
      'gauges `edgepulse_online_users` (an event in the last 5 minutes) and `edgepulse_live_connections` from the live hub; ' +
      'histogram `edgepulse_duration_ms` with fixed buckets 5…30000 ms (bucket counts from a DDSketch, within 1% of the bounds).',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams },
    responses: { 200: { description: 'Metrics', content: { 'text/plain; version=0.0.4': { schema: z.string() } } }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const [totals, g] = await Promise.all([totalsByType(c.env.DB, ws.id), gauges(c.env, ws)]);
    return new Response(renderMetrics(totals, g), {
      status: 200,
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
    }) as never;
  },
);
