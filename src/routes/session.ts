import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { resolveSecret, type Principal } from '../auth/credentials';
import { authenticate } from '../auth/middleware';
import { endSession, startSession } from '../auth/session';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, findWorkspaceById, toWorkspace } from '../history/workspaces';
import { SessionBody, SessionInput, type Session } from '../shared/session';
import { LIMITS } from '../shared/limits';
import { ErrorBodySchema } from '../shared/errors';
import { authErrors, json } from './openapi';

export const sessionRoutes = new OpenAPIHono<AppEnv>();

async function describe(c: Context<AppEnv>, principal: Principal): Promise<Session> {
  if (principal.kind === 'root') return { kind: 'root', workspace: null };
  if (principal.kind === 'ingest') throw new ApiError('forbidden', 'the dashboard needs a read or admin key, not an ingest key');
  // No cookie is ever set for a share link: the dashboard keeps its token from the URL (GET /api/v1/share).
  if (principal.kind === 'share') throw new ApiError('forbidden', 'a share link is no sign-in: open its URL, the dashboard sends its token itself');
  const row = await findWorkspaceById(db(c.env.DB), principal.workspaceId);
  if (!row) throw new ApiError('unauthorized', 'this key’s workspace no longer exists');
  return { kind: principal.kind, workspace: toWorkspace(row) };
}

sessionRoutes.openapi(
  createRoute({
    method: 'post', path: '/session', tags: ['Session'],
    summary: 'Sign in to the dashboard with a read or admin key (or the root token); sets an HttpOnly, SameSite=Strict session cookie',
    request: { body: { ...json(SessionInput, 'The key to sign in with'), required: true } },
    responses: { 200: json(SessionBody, 'Signed in; the cookie is set'), ...authErrors },
  }),
  async (c) => {
    const { key } = c.req.valid('json');
    const principal = await resolveSecret(db(c.env.DB), key.trim(), c.env.ADMIN_TOKEN);
    if (!principal) throw new ApiError('unauthorized', 'unknown or revoked key');
    const session = await describe(c, principal);
    await startSession(c, principal);
    return c.json({ session }, 200);
  },
);

sessionRoutes.openapi(
  createRoute({
    method: 'get', path: '/session', tags: ['Session'],
    summary: 'Who is signed in: the credential kind and its workspace (null for the root token)',
    responses: { 200: json(SessionBody, 'The current session'), ...authErrors },
  }),
  async (c) => c.json({ session: await describe(c, await authenticate(c)) }, 200),
);

sessionRoutes.openapi(
  createRoute({
    method: 'delete', path: '/session', tags: ['Session'],
    summary: 'Sign out: ends the session on the server and clears the cookie',
    description: `The session's id is recorded as ended until the session would have expired, so a copy of the cookie stops working too: at once in the Worker instance that signed out, in every other within ${LIMITS.sessionKeyCacheMs / 1000} s (the same bound as a revoked key). Answers 204 with or without a session. Sessions issued before sign-out could end them (without an id) are no longer accepted: sign in again.`,
    responses: { 204: { description: 'Signed out' }, 403: json(ErrorBodySchema, 'The session cookie, sent by a page of another origin') },
  }),
  async (c) => {
    await endSession(c);
    return c.body(null, 204);
  },
);
