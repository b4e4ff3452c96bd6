import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { rawSource } from '../history/raw/source';
import { gaugeNames, gaugeSeries } from '../history/reports/gauges';
import { bucketStarts } from '../history/reports/stats';
import { GaugeNames, GaugeSeries } from '../shared/gauges';
import { GAUGE_NAME_RE, LIMITS } from '../shared/limits';
import { GRANULARITIES } from '../shared/report-params';
import { authErrors, bearer, json, WsParams } from './openapi';
import { ReportParams, reportQuery } from './stats';
import { strictQuery } from './query-params';

export const statsGaugeRoutes = new OpenAPIHono<AppEnv>();

const GaugeParams = ReportParams.pick({ range: true, from: true, to: true })
  .extend({
    name: z.string().regex(GAUGE_NAME_RE, 'a gauge name is a letter, then up to 63 letters, digits, _ . : or -').optional()
      .meta({ description: 'The gauge (as sent in events’ `gauges`). Without it: the names of the gauges with samples in the range' }),
    granularity: z.enum(GRANULARITIES).optional().meta({ description: 'With `name`: the bucket size (default hour)' }),
  });

const bad = (path: string, message: string) => new ApiError('invalid_request', `${path}: ${message}`, [{ path, message }]);

statsGaugeRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/gauges', tags: ['Reports'], security: bearer,
    summary: 'A gauge per time bucket: min, avg, max, last, samples — or the gauge names (read key)',
    description:
      'With `name`: every bucket from the one holding `from` to `to` is present; a bucket without samples has `samples: 0` and `min`, `avg`, `max`, `last` null. ' +
      '`avg` is the mean of the samples in the bucket (not weighted by time), `last` the latest sample by event time. ' +
      `Day, week (Monday) and month buckets are in the workspace's time zone; at most ${LIMITS.timeseriesMaxPoints} points. ` +
      `Whole buckets come from gauge rollups (per minute, hour and local day; minute rollups are kept ${LIMITS.minuteRollupHours} hours, hour rollups ${LIMITS.hourRollupDays} days, day rollups as long as the workspace), ` +
      'edges finer than a stored bucket and finer points older than their rollups from raw events (the archive and the hub’s not-yet-drained outbox, within the raw retention). ' +
      `Without \`name\`: \`{ "names" }\`, the gauges with samples in the local days the range touches, sorted, at most ${LIMITS.gaugeNamesListed}. ` +
      'Range as the other reports (`range`, or `from`/`to`; default the last 30 days); the event filters do not apply to gauges.',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: strictQuery(GaugeParams) },
    responses: { 200: json(z.union([GaugeSeries, GaugeNames]), 'The gauge per bucket, or the gauge names'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const ws = c.get('workspace');
    const { from, to, now } = reportQuery(ws, { range: p.range, from: p.from, to: p.to });
    if (p.name === undefined) {
      if (p.granularity !== undefined) throw bad('granularity', 'give a gauge name with it');
      return c.json(await gaugeNames(c.env.DB, { workspaceId: ws.id, tz: ws.timezone, from, to, now }), 200);
    }
    const granularity = p.granularity ?? 'hour';
    const starts = bucketStarts(from, to, granularity, ws.timezone);
    if (!starts) throw bad('granularity', `more than ${LIMITS.timeseriesMaxPoints} ${granularity} buckets in this range; pick a coarser granularity or a shorter range`);
    const q = { workspaceId: ws.id, tz: ws.timezone, from, to, now, name: p.name };
    return c.json(await gaugeSeries(c.env.DB, rawSource(c.env, ws.id), q, granularity, starts), 200);
  },
);
