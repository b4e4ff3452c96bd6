import { and, asc, eq, isNull } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { apiKeys } from '../history/schema';
import { KEY_PREFIX, type ApiKey, type KeyKind } from '../shared/workspaces';
import { forgetKey } from './credentials';
import { forgetSessionKey } from './session';
import { randomToken, sha256Hex } from './secrets';

type KeyRow = typeof apiKeys.$inferSelect;

export function toApiKey(row: KeyRow): ApiKey {
  return { id: row.id, kind: row.kind, prefix: row.prefix, name: row.name, createdAt: new Date(row.createdAt).toISOString() };
}

/** A new key: the row to store (hash only) and the secret to show once. */
export async function newKey(workspaceId: string, kind: KeyKind, name?: string, now = Date.now()): Promise<{ row: KeyRow; secret: string }> {
  const secret = `${KEY_PREFIX[kind]}${randomToken(32)}`;
  const row: KeyRow = {
    id: `key_${randomToken(16)}`,
    workspaceId,
    kind,
    prefix: secret.slice(0, 8),
    name: name ?? null,
    hash: await sha256Hex(secret),
    createdAt: now,
    revokedAt: null,
  };
  return { row, secret };
}

export async function createKey(d: DrizzleD1Database, workspaceId: string, kind: KeyKind, name?: string) {
  const { row, secret } = await newKey(workspaceId, kind, name);
  await d.insert(apiKeys).values(row);
  return { key: toApiKey(row), secret };
}

export async function listKeys(d: DrizzleD1Database, workspaceId: string): Promise<ApiKey[]> {
  const rows = await d
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt)))
    .orderBy(asc(apiKeys.createdAt));
  return rows.map(toApiKey);
}

/** Revokes a key; other isolates notice within their cache lifetime (under 60 s). */
export async function revokeKey(d: DrizzleD1Database, workspaceId: string, id: string): Promise<boolean> {
  const row = await d
    .update(apiKeys)
    .set({ revokedAt: Date.now() })
    .where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ hash: apiKeys.hash })
    .get();
  if (row) {
    forgetKey(row.hash);
    forgetSessionKey(id);
  }
  return Boolean(row);
}

/** Drops every key of a deleted workspace from this isolate's cache, so they fail at once here. */
export async function forgetWorkspaceKeys(d: DrizzleD1Database, workspaceId: string): Promise<() => void> {
  const rows = await d.select({ hash: apiKeys.hash }).from(apiKeys).where(eq(apiKeys.workspaceId, workspaceId));
  return () => rows.forEach((r) => forgetKey(r.hash));
}
