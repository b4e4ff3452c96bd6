import { and, eq, isNull } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { LIMITS } from '../shared/limits';
import type { KeyKind } from '../shared/workspaces';
import { apiKeys } from '../history/schema';
import { shareByHash, shareUnexpired } from '../history/shares';
import { SHARE_TOKEN_RE } from '../shared/shares';
import { digestsEqual, sha256Hex } from './secrets';

/** A share link's principal names the share as its `keyId`: revoking the share ends it like a revoked key. */
export type Principal =
  | { kind: 'root' }
  | { kind: KeyKind; workspaceId: string; keyId: string; via: 'key' | 'session' | 'token' }
  | { kind: 'share'; workspaceId: string; keyId: string; via: 'key' | 'token'; expiresAt: number | null };

interface CachedKey {
  principal: Principal | null;
  expires: number;
}

/** Isolate-local cache of key lookups; its TTL is what bounds revocation to 60 s. */
const keyCache = new Map<string, CachedKey>();
const KEY_CACHE_MAX = 10_000;

export function forgetKey(hash: string): void {
  keyCache.delete(hash);
}

let rootToken: { token: string; digest: Promise<string> } | undefined;
function rootDigest(adminToken: string): Promise<string> {
  if (rootToken?.token !== adminToken) rootToken = { token: adminToken, digest: sha256Hex(adminToken) };
  return rootToken.digest;
}

/** secret → its SHA-256 hex; pure, so never stale (revocation works on `keyCache`). */
const digests = new Map<string, string>();
async function digestOf(secret: string): Promise<string> {
  const hash = await sha256Hex(secret);
  if (digests.size >= KEY_CACHE_MAX) digests.clear();
  digests.set(secret, hash);
  return hash;
}

export async function resolveSecret(
  db: DrizzleD1Database,
  secret: string,
  adminToken: string | undefined,
): Promise<Principal | null> {
  // One digest per secret per isolate (a SHA-256 per request cost ingest ~7%): compared with the root token's (in constant time) and looked up as a key.
  const hash = digests.get(secret) ?? (await digestOf(secret));
  if (adminToken && digestsEqual(hash, await rootDigest(adminToken))) return { kind: 'root' };
  const isShare = SHARE_TOKEN_RE.test(secret);
  if (!isShare && !/^(pk|rk|sk)_[A-Za-z0-9]{16,64}$/.test(secret)) return null;
  const now = Date.now();
  const hit = keyCache.get(hash);
  if (hit && hit.expires > now) return hit.principal;
  if (isShare) return cacheShare(hash, await shareByHash(db, hash), now);
  const row = await db
    .select({ id: apiKeys.id, kind: apiKeys.kind, workspaceId: apiKeys.workspaceId })
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .get();
  const principal: Principal | null = row
    ? { kind: row.kind, workspaceId: row.workspaceId, keyId: row.id, via: 'key' }
    : null;
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(hash, { principal, expires: now + LIMITS.keyCacheMs / 2 });
  return principal;
}

/** A share's principal, cached no longer than the share lasts (an expired share answers 401 at once). */
function cacheShare(hash: string, row: Awaited<ReturnType<typeof shareByHash>>, now: number): Principal | null {
  const live = row && shareUnexpired(row, now) ? row : undefined;
  const principal: Principal | null = live ? { kind: 'share', workspaceId: live.workspaceId, keyId: live.id, via: 'key', expiresAt: live.expiresAt } : null;
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(hash, { principal, expires: Math.min(now + LIMITS.keyCacheMs / 2, live?.expiresAt ?? Infinity) });
  return principal;
}

/** What each credential kind may do inside its own workspace. */
const GRANTS: Record<Exclude<Principal['kind'], 'root'>, ReadonlyArray<Access>> = {
  ingest: ['ingest'],
  read: ['read', 'people'],
  admin: ['read', 'people', 'admin', 'ingest'],
  // Aggregates only: no route that shows raw events or user ids (those need `people`).
  share: ['read'],
};
/** `people`: raw events and user ids (event log, export, users, sessions, per-user filters), on top of `read`. */
export type Access = 'ingest' | 'read' | 'people' | 'admin' | 'root';

export function allows(principal: Principal, access: Access, workspaceId?: string): 'ok' | 'forbidden' {
  if (principal.kind === 'root') return 'ok';
  if (access === 'root') return 'forbidden';
  if (workspaceId !== undefined && principal.workspaceId !== workspaceId) return 'forbidden';
  return GRANTS[principal.kind].includes(access) ? 'ok' : 'forbidden';
}
