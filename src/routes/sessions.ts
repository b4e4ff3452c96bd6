import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { listRooms, listSessions } from '../history/sessions';
import { LIMITS } from '../shared/limits';
import { RoomList, SessionList } from '../shared/reports';
import { authErrors, bearer, json, WsParams } from './openapi';
import { ReportParams, reportQuery } from './stats';

export const historySessionRoutes = new OpenAPIHono<AppEnv>();

const Params = ReportParams.pick({ range: true, from: true, to: true, room: true, userId: true }).extend({
  limit: z.coerce.number().int().min(1).max(LIMITS.reportListMax).default(LIMITS.reportListDefault),
});

historySessionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/sessions', tags: ['Reports'], security: bearer,
    summary: 'Participant sessions overlapping the range, newest first (read key)',
    description: 'Derived from `presence.join` / `presence.leave` events with `room` and `userId` (LiveKit participant webhooks become those). A browser viewer kept by `presence.heartbeat` leaves at its last heartbeat once unheard of for 90 s (ended by the cron, within 5 minutes). `leftAt` is null while present; `durationSeconds` then counts to now.',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: Params },
    responses: { 200: json(SessionList, 'Sessions'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const q = reportQuery(c.get('workspace'), p);
    return c.json({ sessions: await listSessions(c.env.DB, { ...q, room: p.room, userId: p.userId, limit: p.limit }) }, 200);
  },
);

historySessionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/rooms', tags: ['Reports'], security: bearer,
    summary: 'Room sessions overlapping the range, newest first (read key)',
    description: 'A room session runs from `room.started` to `room.finished`; without `room.started`, from the first `presence.join` to the leave of its last participant. `participants` counts distinct users who joined during it.',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: Params.omit({ userId: true }) },
    responses: { 200: json(RoomList, 'Room sessions'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    const q = reportQuery(c.get('workspace'), p);
    return c.json({ rooms: await listRooms(c.env.DB, { ...q, room: p.room, limit: p.limit }) }, 200);
  },
);
