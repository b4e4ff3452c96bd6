import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { rawSource } from '../history/raw/source';
import { users } from '../history/reports/people';
import { LIMITS } from '../shared/limits';
import { UserDetail, UserList } from '../shared/reports';
import { authErrors, bearer, json, WsParams } from './openapi';
import { propertyFilters } from './property-filters';
import { ReportParams, reportQuery } from './stats';

export const userRoutes = new OpenAPIHono<AppEnv>();

const RAW = 'Read from the raw events of the range — the R2 archive (only the columns needed) and the hub’s not-yet-drained outbox — exact, only within the workspace’s raw retention; `property.NAME=value` filters apply. `sessions` counts distinct sessionId values; durationMs percentiles within 1% relative error.';

userRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/users', tags: ['Reports'], security: bearer,
    summary: 'Users of a range, by events or last seen (read key)',
    description: RAW,
    middleware: [requireAccess('read')] as const,
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
    return c.json({ users: await users(rawSource(c.env, c.get('workspace').id), reportQuery(c.get('workspace'), { ...p, properties: propertyFilters(c) }), p.sort, p.limit) }, 200);
  },
);

userRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/users/{userId}', tags: ['Reports'], security: bearer,
    summary: 'One user over a range (read key)',
    description: `${RAW} 404 when the user has no event in the range.`,
    middleware: [requireAccess('read')] as const,
    request: {
      params: WsParams.extend({ userId: z.string().min(1).max(LIMITS.userIdMaxLength).meta({ param: { name: 'userId', in: 'path' } }) }),
      query: ReportParams.omit({ userId: true }),
    },
    responses: { 200: json(UserDetail, 'The user'), ...authErrors },
  }),
  async (c) => {
    const { userId } = c.req.valid('param');
    const q = reportQuery(c.get('workspace'), { ...c.req.valid('query'), userId, properties: propertyFilters(c) });
    const [user] = await users(rawSource(c.env, q.workspaceId), q, 'events', 1);
    if (!user) throw new ApiError('not_found', `no events of user "${userId}" in this range`);
    return c.json({ user }, 200);
  },
);
