import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { QueryTime, RANGES, resolveRange } from '../history/range';
import { cohortStarts, periodsBefore, retention } from '../history/reports/growth';
import { COHORT_GRAINS, Retention } from '../shared/growth';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, json, WsParams } from './openapi';
import { checkRange } from './stats';
import { strictQuery } from './query-params';

export const retentionRoutes = new OpenAPIHono<AppEnv>();

// Cohorts are of the whole workspace: a filter would silently not apply, so it is an unknown parameter (strictQuery).
const RetentionParams = z
  .object({
    cohort: z.enum(COHORT_GRAINS).default('week').meta({ description: 'Group users by the day, week (Monday) or month of their first event, in the workspace’s time zone. Default: week' }),
    periods: z.coerce.number().int().min(1).max(LIMITS.retentionPeriodsMax).default(LIMITS.retentionPeriodsDefault)
      .meta({ description: `Periods after each cohort to answer (1–${LIMITS.retentionPeriodsMax}; default ${LIMITS.retentionPeriodsDefault})` }),
    range: z.enum(RANGES).optional().meta({ description: 'Cohorts of: today, yesterday, 24h, 7d, 30d, 90d. Default: the current period and `periods` before it' }),
    from: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms: the first cohort is the period holding it', type: 'string' }),
    to: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms (exclusive): the last cohort is the period holding the instant before; default now', type: 'string' }),
  });

const bad = (path: string, message: string) => new ApiError('invalid_request', `${path}: ${message}`, [{ path, message }]);

retentionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/retention', tags: ['Reports'], security: bearer,
    summary: 'Retention cohorts: users by first period, and the share active in each period after (read key)',
    description:
      'A cohort is the users whose first event in the workspace fell in the period (exact counts over the workspace’s whole history: first-seen times are kept past the raw retention; erased users are left out). ' +
      '`returning[i]` is the share of the cohort with any event in period i + 1 after it, from per-user daily rollups, which are kept for the workspace’s retentionDays: ' +
      'a period starting more than retentionDays + 1 days ago is null (unknown), not 0, and so is a period not begun yet; the period in progress counts the activity so far. ' +
      'An installation that drained events before first-seen times were kept gets them once from the per-user rollups it still had (a cron backfill), so users older than its retention window then count from their oldest day kept. ' +
      `Cohorts cover the workspace as a whole: no filters. At most ${LIMITS.retentionCohortsMax} cohorts.`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: strictQuery(RetentionParams) },
    responses: { 200: json(Retention, 'One row per cohort, oldest first'), ...authErrors },
  }),
  async (c) => {
    const p = checkRange(c.req.valid('query'));
    const ws = c.get('workspace');
    const now = Date.now();
    const r = resolveRange(p, ws.timezone, now);
    const to = r.to ?? now + 1;
    const from = r.from ?? periodsBefore(to - 1, p.periods, p.cohort, ws.timezone);
    if (from >= to) throw bad('from', 'must be before to');
    const starts = cohortStarts(from, to, p.cohort, ws.timezone);
    if (!starts) throw bad('from', `more than ${LIMITS.retentionCohortsMax} ${p.cohort} cohorts in this range; pick a coarser cohort or a shorter range`);
    const q = { workspaceId: ws.id, tz: ws.timezone, cohort: p.cohort, periods: p.periods, from, to, now, retentionDays: ws.retentionDays };
    return c.json(await retention(c.env.DB, q, starts), 200);
  },
);
