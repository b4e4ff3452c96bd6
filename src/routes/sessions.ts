import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { ReportQuery } from '../history/reports/plan';
import { rawSource } from '../history/raw/source';
import { beyondRawRetention, listRooms, listSessions, type SessionKind } from '../history/reports/sessions';
import type { WorkspaceRow } from '../history/workspaces';
import { LIMITS } from '../shared/limits';
import { RoomList, SessionList } from '../shared/reports';
import { authErrors, bearer, json, WsParams } from './openapi';
import { ReportParams, reportQuery } from './stats';

export const historySessionRoutes = new OpenAPIHono<AppEnv>();

const Params = ReportParams.extend({
  limit: z.coerce.number().int().min(1).max(LIMITS.reportListMax).default(LIMITS.reportListDefault),
});

const RETENTION_RULE =
  'Filters matched by events read raw events (the R2 archive and the hub’s not-yet-drained outbox: room, user and time only), which the workspace keeps `retentionDays`: such a filter with a range starting earlier is refused with 400 `invalid_request` naming the filter.';

/** The report query of a session list; 400 when a filter would need raw events the retention deleted. */
function sessionQuery(ws: WorkspaceRow, p: z.infer<typeof Params>, kind: SessionKind): ReportQuery {
  const q = reportQuery(ws, p);
  const issue = beyondRawRetention(kind, q, ws.retentionDays);
  if (issue) throw new ApiError('invalid_request', `${issue.path}: ${issue.message}`, [issue]);
  return q;
}

historySessionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/sessions', tags: ['Reports'], security: bearer,
    summary: 'Participant sessions overlapping the range, newest first (read key)',
    description:
      'Derived from `presence.join` / `presence.leave` events with `room` and `userId` (LiveKit participant webhooks become those). A browser viewer kept by `presence.heartbeat` leaves at its last heartbeat once unheard of for 90 s (ended by the cron, within 5 minutes). `leftAt` is null while present; `durationSeconds` then counts to now. ' +
      'Filters: `room`, `userId` and `platform` are the session’s own (its platform is that of its join). `type`, `country`, `device`, `browser` and `os` keep a session when its user has, inside the range and during the session (join to leave), an event naming its room that matches all of them. ' +
      RETENTION_RULE,
    middleware: [requireAccess('people')] as const,
    request: { params: WsParams, query: Params },
    responses: { 200: json(SessionList, 'Sessions'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    return c.json({ sessions: await listSessions(c.env.DB, rawSource(c.env, c.get('workspace').id), sessionQuery(c.get('workspace'), p, 'participant'), p.limit) }, 200);
  },
);

historySessionRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/rooms', tags: ['Reports'], security: bearer,
    summary: 'Room sessions overlapping the range, newest first (read key)',
    description:
      'A room session runs from `room.started` to `room.finished`; without `room.started`, from the first `presence.join` to the leave of its last participant. `participants` counts distinct users who joined during it. ' +
      'Filters: `room` is the session’s own. `type`, `userId`, `country`, `platform`, `device`, `browser` and `os` keep a room session when, inside the range and during the session (start to end), an event naming its room matches all of them (a participant’s join counts). Filters choose the room sessions; the figures of each are its whole. ' +
      RETENTION_RULE,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: Params },
    responses: { 200: json(RoomList, 'Room sessions'), ...authErrors },
  }),
  async (c) => {
    const p = c.req.valid('query');
    return c.json({ rooms: await listRooms(c.env.DB, rawSource(c.env, c.get('workspace').id), sessionQuery(c.get('workspace'), p, 'room'), p.limit) }, 200);
  },
);
