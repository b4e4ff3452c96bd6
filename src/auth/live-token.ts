import { jwtVerify, SignJWT } from 'jose';
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { LIMITS } from '../shared/limits';
import type { Principal } from './credentials';

const AUDIENCE = 'edgepulse-live';

function key(secret: string | undefined): Uint8Array {
  if (!secret) throw new ApiError('unavailable', 'SESSION_SECRET is not configured');
  return new TextEncoder().encode(secret);
}

/** A 5-minute HS256 token for `?token=` on one workspace's live routes (read access only). */
export async function issueLiveToken(secret: string | undefined, workspaceId: string, now = Date.now()): Promise<{ token: string; expiresAt: string }> {
  const exp = Math.floor((now + LIMITS.liveTokenTtlMs) / 1000);
  const token = await new SignJWT({ ws: workspaceId })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(exp)
    .sign(key(secret));
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

/** The principal of a live token, or null when it is wrong, expired or not a live token. */
export async function verifyLiveToken(secret: string | undefined, token: string): Promise<Principal | null> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { audience: AUDIENCE, algorithms: ['HS256'] });
    if (typeof payload.ws !== 'string') return null;
    return { kind: 'read', workspaceId: payload.ws, keyId: 'live-token', via: 'token' };
  } catch {
    return null;
  }
}

const LIVE_PATH = /^\/api\/v1\/workspaces\/[^/]+(\/rooms\/[^/]+)?\/live$/;

/** Credential source for authenticate(): `?token=` is accepted on GET of the live routes only. */
export async function liveTokenSource(c: Context<AppEnv>): Promise<Principal | null> {
  const token = c.req.query('token');
  if (!token || c.req.method !== 'GET' || !LIVE_PATH.test(c.req.path)) return null;
  const principal = await verifyLiveToken(c.env.SESSION_SECRET, token);
  if (!principal) throw new ApiError('unauthorized', 'the live token is wrong or expired: get a new one from POST …/live/token');
  return principal;
}
