import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { jwtVerify, SignJWT } from 'jose';
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db } from '../history/workspaces';
import { LIMITS } from '../shared/limits';
import type { Principal } from './credentials';
import { keyIsLive } from './session';
import { isShareId, openShare } from './shares';

const AUDIENCE = 'edgepulse-live';

function key(secret: string | undefined): Uint8Array {
  if (!secret) throw new ApiError('unavailable', 'SESSION_SECRET is not configured');
  return new TextEncoder().encode(secret);
}

/** The `sub` of a token the root token minted: no key can revoke it, so it lasts its 5 minutes. */
const ROOT_MINTED = 'root';

/** A 5-minute HS256 token for `?token=` on one workspace's live routes (read access only), naming the key (or share) that minted it. */
export async function issueLiveToken(secret: string | undefined, workspaceId: string, mintedBy: Principal, now = Date.now()): Promise<{ token: string; expiresAt: string }> {
  const exp = Math.floor((now + LIMITS.liveTokenTtlMs) / 1000);
  const token = await new SignJWT({ ws: workspaceId })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(AUDIENCE)
    .setSubject(mintedBy.kind === 'root' ? ROOT_MINTED : mintedBy.keyId)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(exp)
    .sign(key(secret));
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

/** The principal of a live token, or null when it is wrong, expired, not a live token, or its key is revoked. */
export async function verifyLiveToken(secret: string | undefined, token: string, d: DrizzleD1Database): Promise<Principal | null> {
  let claims: { ws: string; sub: string };
  try {
    const { payload } = await jwtVerify(token, key(secret), { audience: AUDIENCE, algorithms: ['HS256'] });
    // A token without `sub` predates revocable tokens: refused, the client mints a new one.
    if (typeof payload.ws !== 'string' || typeof payload.sub !== 'string') return null;
    claims = { ws: payload.ws, sub: payload.sub };
  } catch {
    return null;
  }
  // A share's tokens live as long as the share: deleted or expired, they stop (at once in this isolate).
  if (isShareId(claims.sub)) {
    const share = await openShare(d, claims.sub, claims.ws);
    return share ? { kind: 'share', workspaceId: claims.ws, keyId: claims.sub, via: 'token', expiresAt: share.expiresAt } : null;
  }
  // Same check and cache as sessions: revocation ends the key's tokens within seconds, at once in this isolate.
  if (claims.sub !== ROOT_MINTED && !(await keyIsLive(d, claims.sub, claims.ws))) return null;
  return { kind: 'read', workspaceId: claims.ws, keyId: claims.sub, via: 'token' };
}

/** The key whose revocation ends a live connection: none for the root token and the tokens it minted. */
export function revocableKeyOf(principal: Principal): string | undefined {
  if (principal.kind === 'root' || (principal.via === 'token' && principal.keyId === ROOT_MINTED)) return undefined;
  return principal.keyId;
}

const LIVE_PATH = /^\/api\/v1\/workspaces\/[^/]+(\/rooms\/[^/]+)?\/live$/;

/** Credential source for authenticate(): `?token=` is accepted on GET of the live routes only. */
export async function liveTokenSource(c: Context<AppEnv>): Promise<Principal | null> {
  const token = c.req.query('token');
  if (!token || c.req.method !== 'GET' || !LIVE_PATH.test(c.req.path)) return null;
  const principal = await verifyLiveToken(c.env.SESSION_SECRET, token, db(c.env.DB));
  if (!principal) throw new ApiError('unauthorized', 'the live token is wrong or expired: get a new one from POST …/live/token');
  return principal;
}
