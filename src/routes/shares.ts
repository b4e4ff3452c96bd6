import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { dashboardOrigin } from '../alerts/destination';
import { requireAccess } from '../auth/middleware';
import { revokeShare } from '../auth/shares';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { insertShareUnderCap, listShares, newShare, shareById, toShare } from '../history/shares';
import { db, findWorkspaceById } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { LIMITS } from '../shared/limits';
import { CreateShareInput, ShareCreated, ShareInfo, ShareList } from '../shared/shares';
import { authErrors, bearer, errorResponses, json, WsParams } from './openapi';

export const shareRoutes = new OpenAPIHono<AppEnv>();

const ACCESS =
  'A share link opens the dashboard read-only without signing in; its token (`sh_…`, in the URL) is a bearer credential for aggregates only: live numbers (user ids, recent events and `events` messages left out), reports, breakdowns and rooms. ' +
  'The event log, export, users, sessions, a `userId` filter or breakdown, settings, keys, alerts and schedules answer 403 `forbidden` to it.';

/** `expiresAt` as epoch ms: a valid time in the future, or a 400 naming it. */
function expiryOf(input: string | number | undefined, now: number): number | undefined {
  if (input === undefined) return undefined;
  const ms = typeof input === 'number' ? input : /^\d+$/.test(input) ? Number(input) : Date.parse(input);
  const bad = (message: string) => new ApiError('invalid_request', `expiresAt: ${message}`, [{ path: 'expiresAt', message }]);
  // Date's own range (±8.64e15 ms) bounds it: beyond, it could not be shown as ISO text.
  if (!Number.isFinite(ms) || !Number.isInteger(ms) || Number.isNaN(new Date(ms).getTime())) throw bad('must be an ISO 8601 time or epoch milliseconds');
  if (ms <= now) throw bad('must be in the future');
  return ms;
}

shareRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/shares', tags: ['Shares'], security: bearer,
    summary: 'Create a share link (admin key); its URL, with the token, is shown this once',
    description: `${ACCESS} The URL is \`<PUBLIC_URL or this request's origin>/s/<token>\`. A workspace holds at most ${LIMITS.sharesMax} share links (409 beyond).`,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams, body: { ...json(CreateShareInput, 'The share link to create: an optional name and expiry'), required: true } },
    responses: { 201: json(ShareCreated, 'Created'), ...authErrors, ...errorResponses(409) },
  }),
  async (c) => {
    const input = c.req.valid('json');
    const now = Date.now();
    const { row, token } = await newShare(c.get('workspace').id, { name: input.name, expiresAt: expiryOf(input.expiresAt, now) }, now);
    if (!(await insertShareUnderCap(c.env.DB, row, LIMITS.sharesMax))) {
      throw new ApiError('conflict', `this workspace holds ${LIMITS.sharesMax} share links, its maximum: delete one first`);
    }
    const origin = dashboardOrigin(c.env.PUBLIC_URL, new URL(c.req.url).origin);
    return c.json({ share: toShare(row), url: `${origin}/s/${token}` }, 201);
  },
);

shareRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/shares', tags: ['Shares'], security: bearer,
    summary: 'List the workspace’s share links, newest first, without tokens (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(ShareList, 'Share links, expired ones included until deleted'), ...authErrors },
  }),
  async (c) => c.json({ shares: await listShares(db(c.env.DB), c.get('workspace').id) }, 200),
);

shareRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/shares/{id}', tags: ['Shares'], security: bearer,
    summary: 'Delete a share link (admin key): it stops working now, and its open live connections close',
    description: `The link's next request answers 401 at once on this Worker instance (elsewhere within ${LIMITS.keyCacheMs / 2000} s); its WebSockets close with 4401, its SSE streams end.`,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams.extend({ id: z.string().max(100).meta({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 204: { description: 'Deleted' }, ...authErrors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const workspaceId = c.get('workspace').id;
    if (!(await revokeShare(db(c.env.DB), workspaceId, id))) throw new ApiError('not_found', `no share link "${id}" in this workspace`);
    // Deleted either way: if the hub fails here, its open connections stay until they reconnect (then refused).
    await workspaceHub(c.env, workspaceId).closeKeyLive(workspaceId, id).catch((err) => console.warn(`share ${id}: closing live connections failed`, String(err)));
    return c.body(null, 204);
  },
);

shareRoutes.openapi(
  createRoute({
    method: 'get', path: '/share', tags: ['Shares'], security: bearer,
    summary: 'What a share link shows: its workspace and the share itself (the share token as bearer)',
    description: `${ACCESS} Any other credential gets 403; an expired or deleted share 401.`,
    middleware: [requireAccess('read')] as const,
    responses: { 200: json(ShareInfo, 'The share and its workspace'), ...authErrors },
  }),
  async (c) => {
    const principal = c.get('principal');
    if (principal.kind !== 'share') throw new ApiError('forbidden', 'this answers a share link’s token ("Authorization: Bearer sh_…") only');
    const d = db(c.env.DB);
    const [ws, row] = await Promise.all([findWorkspaceById(d, principal.workspaceId), shareById(d, principal.keyId, principal.workspaceId)]);
    if (!ws || !row) throw new ApiError('unauthorized', 'this share link has ended');
    const share = toShare(row);
    return c.json({ workspace: { slug: ws.slug, name: ws.name, timezone: ws.timezone }, share: { id: share.id, name: share.name, expiresAt: share.expiresAt } }, 200);
  },
);
