import { eq } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { endedSessions } from '../history/schema';
import { LIMITS } from '../shared/limits';

/**
 * Isolate-local cache of "was this session signed out", for as long as a session trusts its key
 * (LIMITS.sessionKeyCacheMs): a sign-out reaches other isolates within that, this one at once.
 */
const known = new Map<string, { ended: boolean; expires: number }>();
const KNOWN_MAX = 10_000;

function remember(jti: string, ended: boolean, now: number): void {
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(jti, { ended, expires: now + LIMITS.sessionKeyCacheMs });
}

/** Whether the session with this `jti` was signed out. */
export async function sessionEnded(d: DrizzleD1Database, jti: string, now = Date.now()): Promise<boolean> {
  const hit = known.get(jti);
  if (hit && hit.expires > now) return hit.ended;
  const row = await d.select({ id: endedSessions.id }).from(endedSessions).where(eq(endedSessions.id, jti)).get();
  remember(jti, Boolean(row), now);
  return Boolean(row);
}

/** Records a sign-out until the session would have expired anyway (the cron deletes the row then). */
export async function markSessionEnded(d: DrizzleD1Database, jti: string, expiresAtMs: number, now = Date.now()): Promise<void> {
  await d.insert(endedSessions).values({ id: jti, expiresAt: expiresAtMs }).onConflictDoNothing();
  remember(jti, true, now);
}
