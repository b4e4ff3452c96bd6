import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { issueLiveToken, liveTokenSource, revocableKeyOf } from '../auth/live-token';
import { addCredentialSource, requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { toRef } from '../history/workspaces';
import { LIVE_AGGREGATES_HEADER, snapshotAggregatesOnly } from '../live/aggregates-only';
import { FANOUT, LIVE_KEY_HEADER } from '../live/fanout';
import { roomHub, workspaceHub } from '../live/hubs';
import { WORKSPACE_HEADER } from '../live/workspace-hub';
import { LIMITS, ROOM_RE } from '../shared/limits';
import { LiveClosed, LiveMessage, LiveSnapshot, LiveToken } from '../shared/live';
import { authErrors, bearer, json, WsParams } from './openapi';
import { strictQuery } from './query-params';

addCredentialSource(liveTokenSource);

export const liveRoutes = new OpenAPIHono<AppEnv>();

const RoomParams = WsParams.extend({
  room: z.string().regex(ROOM_RE, 'must match ^[A-Za-z0-9._:@-]{1,128}$').meta({ param: { name: 'room', in: 'path' }, example: 'standup', description: 'Room, stream or channel' }),
});
const LiveQuery = strictQuery(z.object({ token: z.string().optional().meta({ description: 'A live token from POST …/live/token, instead of a header' }) }));

const modes = `Three modes: \`Upgrade: websocket\` gives a WebSocket (hibernating; send \`{"type":"ping"}\` for \`{"type":"pong"}\`), \`Accept: text/event-stream\` gives Server-Sent Events, anything else a JSON snapshot. Streams carry \`connected\`, then \`stats\` (at most ${1000 / FANOUT.statsEveryMs} a second while anything changes, at least every ${FANOUT.statsAtLeastMs / 1000} s), \`events\` (batched, at most every ${FANOUT.eventsEveryMs} ms) and \`ping\` (every ${FANOUT.pingEveryMs / 1000} s). Credentials: read or admin key, session cookie, a share link's token (\`sh_…\`), or \`?token=\`; checked before the upgrade. A share link's connections (and a token it minted) are aggregates only: no \`events\` messages, and \`recentEvents\`, \`recentErrors\`, \`topUsers\` (and a room's \`participants\`) are empty. The session cookie counts only from the dashboard's own origin: a request carrying it whose \`Origin\` names another origin (another port or subdomain of the same site, which browsers send the cookie from) gets 403 \`forbidden\`, so no other page can open the stream with the dashboard's cookie; pages elsewhere use a key or \`?token=\` (CORS answers the workspace's \`allowedOrigins\`; once that list is set, WebSockets from other origins get 403). Revoking the key (or the key that minted the token, or deleting the share link) ends its connections: WebSockets close with code 4401 "key revoked", SSE streams end; \`DELETE …/live\` closes them all (WebSockets with code 4000).`;

const keyCap = `A key holds at most ${LIMITS.liveConnectionsPerKey} open streams per workspace and per room (a share link counts as a key; tokens count as the key or share that minted them; the root token only meets the hub's cap of ${LIMITS.liveConnectionsMax}); beyond, 429 \`rate_limited\` with \`Retry-After\`. A snapshot is no connection.`;

const liveResponses = {
  200: {
    description: 'The snapshot, or an SSE stream of LiveMessage (`event: <type>` / `data: <json>`)',
    content: { 'application/json': { schema: LiveSnapshot }, 'text/event-stream': { schema: LiveMessage } },
  },
  101: { description: 'Switching to a WebSocket carrying LiveMessage JSON frames' },
  ...authErrors,
} as const;

/** A share link's live view is aggregates only: no `events` messages, stats without user ids or raw events. */
const isShare = (c: Context<AppEnv>) => c.get('principal').kind === 'share';

type Mode = 'ws' | 'sse' | 'json';
function modeOf(c: Context<AppEnv>): Mode {
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') return 'ws';
  if ((c.req.header('accept') ?? '').includes('text/event-stream')) return 'sse';
  return 'json';
}

/** Hands an authenticated stream request to its hub, with the workspace it belongs to and the key that opened it. */
function forward(c: Context<AppEnv>, stub: { fetch(req: Request): Promise<Response> }, room?: string): Promise<Response> {
  const headers = new Headers(c.req.raw.headers);
  // The hub trusts these headers: a client never sets them.
  for (const name of [...headers.keys()]) if (name.startsWith('x-edgepulse-')) headers.delete(name);
  headers.set(WORKSPACE_HEADER, JSON.stringify(toRef(c.get('workspace'))));
  if (room) headers.set('x-edgepulse-room', room);
  const keyId = revocableKeyOf(c.get('principal'));
  if (keyId) headers.set(LIVE_KEY_HEADER, keyId);
  const principal = c.get('principal');
  if (principal.kind === 'share') headers.set(LIVE_AGGREGATES_HEADER, principal.expiresAt === null ? 'open' : String(principal.expiresAt));
  return stub.fetch(new Request(c.req.url, { method: 'GET', headers, signal: c.req.raw.signal }));
}

liveRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/live', tags: ['Live'], security: bearer,
    summary: 'The workspace’s live view: WebSocket, SSE or JSON snapshot (read key)',
    description: `${modes} ${keyCap}`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: LiveQuery },
    responses: liveResponses,
  }),
  async (c) => {
    const ws = c.get('workspace');
    const hub = workspaceHub(c.env, ws.id);
    if (modeOf(c) === 'json') {
      const snapshot = await hub.liveSnapshot(toRef(ws));
      return c.json(isShare(c) ? snapshotAggregatesOnly(snapshot) : snapshot, 200);
    }
    return (await forward(c, hub)) as never;
  },
);

liveRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/rooms/{room}/live', tags: ['Live'], security: bearer,
    summary: 'One room’s live view: WebSocket, SSE or JSON snapshot (read key)',
    description: `${modes} ${keyCap} A room's stats have the workspace fields scoped to the room, plus \`current\`, \`peak\`, \`totalJoins\`, \`avgSecondsInRoom\` and \`participants\`. Viewers that send \`presence.heartbeat\` leave when unheard of for ${LIMITS.presenceTimeoutMs / 1000} s.`,
    middleware: [requireAccess('read')] as const,
    request: { params: RoomParams, query: LiveQuery },
    responses: liveResponses,
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { room } = c.req.valid('param');
    const hub = roomHub(c.env, ws.id, room);
    if (modeOf(c) === 'json') {
      const snapshot = await hub.liveSnapshot(toRef(ws), room);
      return c.json(isShare(c) ? snapshotAggregatesOnly(snapshot) : snapshot, 200);
    }
    return (await forward(c, hub, room)) as never;
  },
);

liveRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/live/token', tags: ['Live'], security: bearer,
    summary: 'A 5-minute token for `?token=` on this workspace’s live routes (read key, admin key, session or share link)',
    description: 'With the session cookie, only from the dashboard’s own origin: a page of another origin of the same site gets 403, and cannot mint tokens with the dashboard’s cookie.',
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams },
    responses: { 200: json(LiveToken, 'The token and when it expires'), ...authErrors },
  }),
  async (c) => {
    const principal = c.get('principal');
    if (principal.kind !== 'root' && principal.via === 'token') {
      throw new ApiError('forbidden', 'a live token cannot mint another');
    }
    return c.json(await issueLiveToken(c.env.SESSION_SECRET, c.get('workspace').id, principal), 200);
  },
);

liveRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/live', tags: ['Live'], security: bearer,
    summary: 'Close every live connection of the workspace and its rooms (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(LiveClosed, 'How many connections were closed'), ...authErrors },
  }),
  async (c) => {
    const { id } = c.get('workspace');
    return c.json({ closed: await workspaceHub(c.env, id).closeLive(id) }, 200);
  },
);
