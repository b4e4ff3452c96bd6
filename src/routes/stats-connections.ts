import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { QueryTime, RANGES } from '../history/range';
import { rawSource } from '../history/raw/source';
import { connections } from '../history/reports/connections';
import { Connections } from '../shared/connections';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, json, WsParams } from './openapi';
import { reportQuery } from './stats';
import { strictQuery } from './query-params';

export const connectionRoutes = new OpenAPIHono<AppEnv>();

/** The range and the filters a participant session carries itself; anything else is a 400 naming it. */
const ConnectionParams = z
  .object({
    range: z.enum(RANGES).optional().meta({ description: 'today, yesterday (workspace time zone), 24h, 7d, 30d, 90d. Default: 30d' }),
    from: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms (inclusive)', type: 'string' }),
    to: QueryTime.optional().meta({ description: 'ISO 8601 or epoch ms (exclusive); default now', type: 'string' }),
    room: z.string().max(LIMITS.roomMaxLength).optional(),
    userId: z.string().max(LIMITS.userIdMaxLength).optional(),
    platform: z.string().max(LIMITS.contextStringMaxLength).optional(),
  });

connectionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/stats/connections', tags: ['Reports'], security: bearer,
    summary: 'Connection success rate, participant minutes and session length, by connection type and platform (read key)',
    description:
      'Participant sessions (LiveKit participant_joined, presence.join, browser viewers) overlapping the range, and aborted connections (LiveKit participant_connection_aborted: a presence.leave with an error). ' +
      '`succeeded` counts sessions that began in the range, `aborted` failed connections in it, `participantMinutes` the connected time inside the range (what LiveKit bills by), `avgSessionSeconds` the mean length of the sessions begun in it that have ended. ' +
      'The connection type and platform are the session’s own, from its join (LiveKit participant metadata or attributes `connectionType`, `platform`; an SDK’s `context`). ' +
      'Filters: `room`, `userId`, `platform`. Aborted connections are counted from rollups (raw events, within the raw retention, at partial-hour edges and with a room or user filter).',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: strictQuery(ConnectionParams) },
    responses: { 200: json(Connections, 'Connection figures of the range'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const q = reportQuery(ws, c.req.valid('query'));
    return c.json(await connections(c.env.DB, rawSource(c.env, ws.id), q), 200);
  },
);
