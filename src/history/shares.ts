import { and, desc, eq } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { randomToken, sha256Hex } from '../auth/secrets';
import { SHARE_TOKEN_PREFIX, type Share } from '../shared/shares';
import { shares } from './schema';

export type ShareRow = typeof shares.$inferSelect;

export function toShare(row: ShareRow): Share {
  return {
    id: row.id,
    name: row.name,
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** Whether a share still opens its workspace at `now` (deleting the row is the other way it ends). */
export const shareUnexpired = (row: Pick<ShareRow, 'expiresAt'>, now = Date.now()) => row.expiresAt === null || row.expiresAt > now;

/** A new share link: the row to store (hash only) and the token to put in its URL once. */
export async function newShare(workspaceId: string, input: { name?: string; expiresAt?: number }, now = Date.now()): Promise<{ row: ShareRow; token: string }> {
  const token = `${SHARE_TOKEN_PREFIX}${randomToken(32)}`;
  const row: ShareRow = {
    id: `shr_${randomToken(16)}`,
    workspaceId,
    name: input.name ?? null,
    hash: await sha256Hex(token),
    createdAt: now,
    expiresAt: input.expiresAt ?? null,
  };
  return { row, token };
}

/** Stores the share unless the workspace holds `max` already (one statement: concurrent creates cannot pass the cap); false when full. */
export async function insertShareUnderCap(d1: D1Database, row: ShareRow, max: number): Promise<boolean> {
  const res = await d1
    .prepare(
      'INSERT INTO shares (id, workspace_id, name, hash, created_at, expires_at) SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM shares WHERE workspace_id = ?) < ?',
    )
    .bind(row.id, row.workspaceId, row.name, row.hash, row.createdAt, row.expiresAt, row.workspaceId, max)
    .run();
  return res.meta.changes === 1;
}

/** The workspace's shares, newest first (expired ones too, until deleted: the list says when they ended). */
export async function listShares(d: DrizzleD1Database, workspaceId: string): Promise<Share[]> {
  const rows = await d.select().from(shares).where(eq(shares.workspaceId, workspaceId)).orderBy(desc(shares.createdAt), desc(shares.id));
  return rows.map(toShare);
}

/** Deletes a share (revoking it); returns its row, or undefined when the workspace has no such share. */
export async function deleteShare(d: DrizzleD1Database, workspaceId: string, id: string): Promise<ShareRow | undefined> {
  return d.delete(shares).where(and(eq(shares.workspaceId, workspaceId), eq(shares.id, id))).returning().get();
}

export async function shareByHash(d: DrizzleD1Database, hash: string): Promise<ShareRow | undefined> {
  return d.select().from(shares).where(eq(shares.hash, hash)).get();
}

export async function shareById(d: DrizzleD1Database, id: string, workspaceId: string): Promise<ShareRow | undefined> {
  return d.select().from(shares).where(and(eq(shares.id, id), eq(shares.workspaceId, workspaceId))).get();
}

/** The statement deleting a workspace's shares, for the batch that deletes the workspace. */
export function deleteWorkspaceShares(d: DrizzleD1Database, workspaceId: string) {
  return d.delete(shares).where(eq(shares.workspaceId, workspaceId));
}

/** Hashes of a workspace's shares, to forget them in this isolate once it is deleted. */
export async function workspaceShareHashes(d: DrizzleD1Database, workspaceId: string): Promise<Array<{ id: string; hash: string }>> {
  return d.select({ id: shares.id, hash: shares.hash }).from(shares).where(eq(shares.workspaceId, workspaceId));
}
