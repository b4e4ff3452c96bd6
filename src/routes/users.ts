import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { rawSource } from '../history/raw/source';
import { users } from '../history/reports/people';
import { usersFromRollups, usersFromRollupsApply } from '../history/reports/people-rollups';
import type { ReportQuery } from '../history/reports/plan';
import { LIMITS } from '../shared/limits';
import { UserDetail, UserList } from '../shared/reports';
import { authErrors, bearer, json, WsParams } from './openapi';
import { ReportParams, reportQuery } from './stats';

export const userRoutes = new OpenAPIHono<AppEnv>();

const SOURCES =
  'Without any filter but the range, read from per-user daily rollups: every figure covers the whole local days (workspace time zone) the range touches, so a range starting mid-day counts that day whole; `sessions` is then a HyperLogLog estimate (within 2%). ' +
  'With any other filter (type, room, country, platform, device, browser, os, `property.NAME=`), read from the raw events of exactly the range — the R2 archive (only the columns needed) and the hub’s not-yet-drained outbox, within the raw retention — where `sessions` counts distinct sessionId values. ' +
  'durationMs percentiles within 1% relative error.';

/** Per-user daily rollups when the query has no filter they lack; else the raw events. */
const usersOf = (env: AppEnv['Bindings'], q: ReportQuery, sort: 'events' | 'lastSeen', limit: number) =>
  usersFromRollupsApply(q) ? usersFromRollups(env.DB, q, sort, limit) : users(rawSource(env, q.workspaceId), q, sort, limit);

userRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/users', tags: ['Reports'], security: bearer,
    summary: 'Users of a range, by events or last seen (read key)',
    description: SOURCES,
    middleware: [requireAccess('people')] as const,
    request: {
      params: WsParams,
      query: ReportParams.extend({
        sort: z.enum(['events', 'lastSeen']).default('events'),
        limit: z.coerce.number().int().min(1).max(LIMITS.reportListMax).default(LIMITS.reportListDefault),
      }),
    },
    responses: { 200: json(UserList, 'Users'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    return c.json({ users: await usersOf(c.env, reportQuery(c.get('workspace'), p), p.sort, p.limit) }, 200);
  },
);

userRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/users/{userId}', tags: ['Reports'], security: bearer,
    summary: 'One user over a range (read key)',
    description: `${SOURCES} 404 when the user has no event in the days read.`,
    middleware: [requireAccess('people')] as const,
    request: {
      params: WsParams.extend({ userId: z.string().min(1).max(LIMITS.userIdMaxLength).meta({ param: { name: 'userId', in: 'path' } }) }),
      query: ReportParams.omit({ userId: true }),
    },
    responses: { 200: json(UserDetail, 'The user'), ...authErrors },
  }),
  async (c) => {
    const { userId } = c.req.valid('param');
    const q = reportQuery(c.get('workspace'), { ...c.req.valid('query'), userId });
    const [user] = await usersOf(c.env, q, 'events', 1);
    if (!user) throw new ApiError('not_found', `no events of user "${userId}" in this range`);
    return c.json({ user }, 200);
  },
);
