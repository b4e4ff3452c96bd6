import { and, eq, isNull } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { sign, verify } from 'hono/jwt';
import type { AppEnv } from '../env';
import { apiKeys } from '../history/schema';
import { db } from '../history/workspaces';
import { LIMITS } from '../shared/limits';
import type { Principal } from './credentials';
import { sha256Hex } from './secrets';

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
}

function sessionSecret(c: Context<AppEnv>): string {
  const secret = c.env.SESSION_SECRET;
  if (!secret) throw new Error('SESSION_SECRET is not set');
  return secret;
}

/** Sets the HttpOnly, SameSite=Strict session cookie for a read or admin key, or the root token. */
export async function startSession(c: Context<AppEnv>, principal: Principal): Promise<void> {
  const exp = Math.floor((Date.now() + LIMITS.sessionTtlMs) / 1000);
  const claims: SessionClaims =
    principal.kind === 'root'
      ? { sub: 'root', kind: 'root', rh: (await sha256Hex(c.env.ADMIN_TOKEN)).slice(0, 16), exp, aud: AUDIENCE }
      : { sub: principal.keyId, kind: principal.kind, ws: principal.workspaceId, exp, aud: AUDIENCE };
  const token = await sign({ ...claims }, sessionSecret(c), 'HS256');
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: new URL(c.req.url).protocol === 'https:',
    path: '/',
    maxAge: Math.floor(LIMITS.sessionTtlMs / 1000),
  });
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: new URL(c.req.url).protocol === 'https:' });
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

/** The principal of the request's session cookie, or null (absent, forged, expired, or its key revoked). */
export async function sessionPrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token || !c.env.SESSION_SECRET) return null;
  let claims: SessionClaims;
  try {
    claims = (await verify(token, c.env.SESSION_SECRET, { alg: 'HS256', aud: AUDIENCE })) as unknown as SessionClaims;
  } catch {
    return null;
  }
  if (claims.kind === 'root') {
    const rh = (await sha256Hex(c.env.ADMIN_TOKEN ?? '')).slice(0, 16);
    return c.env.ADMIN_TOKEN && claims.rh === rh ? { kind: 'root' } : null;
  }
  if ((claims.kind !== 'read' && claims.kind !== 'admin') || !claims.ws) return null;
  if (!(await keyIsLive(db(c.env.DB), claims.sub, claims.ws))) return null;
  return { kind: claims.kind, workspaceId: claims.ws, keyId: claims.sub, via: 'session' };
}
