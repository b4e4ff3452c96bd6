import { and, eq, isNull } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sign, verify } from 'hono/jwt';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { apiKeys } from '../history/schema';
import { db } from '../history/workspaces';
import { LIMITS } from '../shared/limits';
import type { Principal } from './credentials';
import { markSessionEnded, sessionEnded } from './ended-sessions';
import { randomToken, sha256Hex } from './secrets';

export const SESSION_COOKIE = 'ep_session';
/** The audience claim keeps session JWTs apart from any other token signed with the same secret. */
const AUDIENCE = 'edgepulse-session';

interface SessionClaims {
  /** root, or the key's id */
  sub: string;
  kind: Principal['kind'];
  ws?: string;
  /** First 16 hex chars of the root token's hash: rotating ADMIN_TOKEN ends root sessions. */
  rh?: string;
  exp: number;
  aud: string;
  /** Random id: signing out records it in ended_sessions, so a copied cookie stops working. */
  jti: string;
}

function sessionSecret(c: Context<AppEnv>): string {
  const secret = c.env.SESSION_SECRET;
  if (!secret) throw new Error('SESSION_SECRET is not set');
  return secret;
}

/** Sets the HttpOnly, SameSite=Strict session cookie for a read or admin key, or the root token. */
export async function startSession(c: Context<AppEnv>, principal: Principal): Promise<void> {
  const exp = Math.floor((Date.now() + LIMITS.sessionTtlMs) / 1000);
  const jti = randomToken(24);
  const claims: SessionClaims =
    principal.kind === 'root'
      ? { sub: 'root', kind: 'root', rh: (await sha256Hex(c.env.ADMIN_TOKEN)).slice(0, 16), exp, aud: AUDIENCE, jti }
      : { sub: principal.keyId, kind: principal.kind, ws: principal.workspaceId, exp, aud: AUDIENCE, jti };
  const token = await sign({ ...claims }, sessionSecret(c), 'HS256');
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: new URL(c.req.url).protocol === 'https:',
    path: '/',
    maxAge: Math.floor(LIMITS.sessionTtlMs / 1000),
  });
}

/** Signs out: the session's id is recorded as ended (a copy of the cookie stops working too), and the cookie cleared. */
export async function endSession(c: Context<AppEnv>): Promise<void> {
  const claims = await cookieClaims(c);
  if (claims) await markSessionEnded(db(c.env.DB), claims.jti, claims.exp * 1000);
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: new URL(c.req.url).protocol === 'https:' });
}

/**
 * A cookie is sent by every page of the same site (other ports of localhost, sibling subdomains'
 * pages on the same registrable domain), so a request it authenticates must come from the
 * dashboard's own origin: browsers name theirs in `Origin` (always on WebSockets and cross-origin
 * requests); a request without one is no page's cross-origin request.
 */
function checkOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header('origin');
  const own = new URL(c.req.url).origin;
  if (origin === undefined || origin === own) return;
  throw new ApiError(
    'forbidden',
    `the session cookie is accepted only from the dashboard's own origin ${own}, not from ${origin}: other pages use a key ("Authorization: Bearer …") or a live token (?token=)`,
  );
}

/** The claims of the request's session cookie when it is signed by us, unexpired and has an id; 403 from another origin. */
async function cookieClaims(c: Context<AppEnv>): Promise<SessionClaims | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || !c.env.SESSION_SECRET) return null;
  let claims: SessionClaims;
  try {
    claims = (await verify(token, c.env.SESSION_SECRET, { alg: 'HS256', aud: AUDIENCE })) as unknown as SessionClaims;
  } catch {
    return null;
  }
  // Sessions from before sign-out could end them have no id: refused (they could never be ended); sign in again.
  if (typeof claims.jti !== 'string' || !claims.jti || typeof claims.exp !== 'number') return null;
  checkOrigin(c);
  return claims;
}

/** Isolate-local cache of "is this key still live", short enough to keep revocation under 60 s. */
const liveKeys = new Map<string, { ok: boolean; expires: number }>();

/** Whether a key of the workspace is still unrevoked (sessions and live tokens name the key that made them). */
export async function keyIsLive(d: DrizzleD1Database, keyId: string, workspaceId: string): Promise<boolean> {
  const now = Date.now();
  const hit = liveKeys.get(keyId);
  if (hit && hit.expires > now) return hit.ok;
  const row = await d
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt)))
    .get();
  if (liveKeys.size > 10_000) liveKeys.clear();
  liveKeys.set(keyId, { ok: Boolean(row), expires: now + LIMITS.sessionKeyCacheMs });
  return Boolean(row);
}

/** Drops the cached state of a key, so a revoke in this isolate ends its sessions and live tokens at once. */
export function forgetSessionKey(keyId: string): void {
  liveKeys.delete(keyId);
}

/** The principal of the request's session cookie, or null (absent, forged, expired, signed out, or its key revoked). */
export async function sessionPrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const claims = await cookieClaims(c);
  if (!claims) return null;
  const d = db(c.env.DB);
  if (await sessionEnded(d, claims.jti)) return null;
  if (claims.kind === 'root') {
    const rh = (await sha256Hex(c.env.ADMIN_TOKEN ?? '')).slice(0, 16);
    return c.env.ADMIN_TOKEN && claims.rh === rh ? { kind: 'root' } : null;
  }
  if ((claims.kind !== 'read' && claims.kind !== 'admin') || !claims.ws) return null;
  if (!(await keyIsLive(d, claims.sub, claims.ws))) return null;
  return { kind: claims.kind, workspaceId: claims.ws, keyId: claims.sub, via: 'session' };
}
