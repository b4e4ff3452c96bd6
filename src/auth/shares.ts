import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { deleteShare, shareById, shareUnexpired, workspaceShareHashes, type ShareRow } from '../history/shares';
import { LIMITS } from '../shared/limits';
import { forgetKey } from './credentials';

export const isShareId = (id: string) => id.startsWith('shr_');

/** Isolate-local "is this share still open", as short-lived as the sessions' key check and never past the share's expiry. */
const liveShares = new Map<string, { open: { expiresAt: number | null } | null; expires: number }>();

/** A share of the workspace that exists and is unexpired (its live tokens name it): its expiry; null when it has ended. */
export async function openShare(d: DrizzleD1Database, shareId: string, workspaceId: string): Promise<{ expiresAt: number | null } | null> {
  const now = Date.now();
  const hit = liveShares.get(shareId);
  if (hit && hit.expires > now) return hit.open;
  const row = await shareById(d, shareId, workspaceId);
  const open = row && shareUnexpired(row, now) ? { expiresAt: row.expiresAt } : null;
  if (liveShares.size > 10_000) liveShares.clear();
  liveShares.set(shareId, { open, expires: Math.min(now + LIMITS.sessionKeyCacheMs, open?.expiresAt ?? Infinity) });
  return open;
}

function forgetShare(share: Pick<ShareRow, 'id' | 'hash'>): void {
  forgetKey(share.hash);
  liveShares.delete(share.id);
}

/** Deletes a share: its bearer and live tokens fail at once in this isolate, in others within their caches' lifetime. */
export async function revokeShare(d: DrizzleD1Database, workspaceId: string, id: string): Promise<ShareRow | undefined> {
  const row = await deleteShare(d, workspaceId, id);
  if (row) forgetShare(row);
  return row;
}

/** Before a workspace is deleted: returns what forgets its shares in this isolate once the rows are gone. */
export async function forgetWorkspaceShares(d: DrizzleD1Database, workspaceId: string): Promise<() => void> {
  const rows = await workspaceShareHashes(d, workspaceId);
  return () => rows.forEach(forgetShare);
}
