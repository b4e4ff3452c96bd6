import { eq } from 'drizzle-orm';
import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import { LIMITS } from '../shared/limits';
import type { Workspace } from '../shared/workspaces';
import type { WorkspaceRef } from '../ingest/types';
import { workspaces } from './schema';

export type WorkspaceRow = typeof workspaces.$inferSelect;

/** One drizzle wrapper per binding: building one per request cost the ingest path ~3%. */
const wrappers = new WeakMap<D1Database, DrizzleD1Database>();
export function db(d1: D1Database): DrizzleD1Database {
  let out = wrappers.get(d1);
  if (!out) wrappers.set(d1, (out = drizzle(d1)));
  return out;
}

/** Short isolate-local cache: the ingest paths (by slug, or by a key's workspace id) skip a D1 round trip. */
const cache = new Map<string, { row: WorkspaceRow | null; expires: number }>();
const CACHE_MS = 5_000;

/** Drops a workspace from this isolate's cache after it changed or went away. */
export function forgetWorkspace(ws: { slug: string; id: string }): void {
  cache.delete(`slug:${ws.slug}`);
  cache.delete(`id:${ws.id}`);
}

async function cached(key: string, load: () => Promise<WorkspaceRow | undefined>): Promise<WorkspaceRow | null> {
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.expires > now) return hit.row;
  const row = (await load()) ?? null;
  if (cache.size > 1000) cache.clear();
  cache.set(key, { row, expires: now + CACHE_MS });
  return row;
}

export function findWorkspace(d: DrizzleD1Database, slug: string): Promise<WorkspaceRow | null> {
  return cached(`slug:${slug}`, () => d.select().from(workspaces).where(eq(workspaces.slug, slug)).get());
}

export function findWorkspaceById(d: DrizzleD1Database, id: string): Promise<WorkspaceRow | null> {
  return cached(`id:${id}`, () => d.select().from(workspaces).where(eq(workspaces.id, id)).get());
}

export function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    slug: row.slug,
    name: row.name,
    timezone: row.timezone,
    retentionDays: row.retentionDays,
    allowedOrigins: row.allowedOrigins,
    livekitConfigured: Boolean(row.livekitApiKey && row.livekitApiSecret),
    webhookSecretConfigured: Boolean(row.webhookSecret),
    rateLimit: { eventsPerSecond: row.rateLimitEps ?? LIMITS.defaultEventsPerSecond, burstSeconds: LIMITS.rateLimitBurstSeconds },
    rollupProperties: row.rollupProperties ?? [],
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export function toRef(row: WorkspaceRow): WorkspaceRef {
  return {
    id: row.id, slug: row.slug, timezone: row.timezone, eventsPerSecond: row.rateLimitEps ?? LIMITS.defaultEventsPerSecond,
    rollupProperties: row.rollupProperties ?? [],
  };
}
