import { and, desc, eq, gte, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type { StoredEvent } from '../shared/events';
import { events } from './schema';

export interface EventFilter {
  workspaceId: string;
  from?: number;
  to?: number;
  type?: string;
  userId?: string;
  room?: string;
  errorsOnly?: boolean;
}


/** Opaque cursor: the (ts, rowid) of the last row of the previous page. */
export function encodeCursor(ts: number, seq: number): string {
  return btoa(`${ts}.${seq}`).replace(/=+$/, '');
}

export function decodeCursor(cursor: string): { ts: number; seq: number } | null {
  try {
    const [ts, seq] = atob(cursor).split('.').map(Number);
    return Number.isSafeInteger(ts) && Number.isSafeInteger(seq) ? { ts, seq } : null;
  } catch {
    return null;
  }
}

export function filterConditions(f: EventFilter): SQL[] {
  const where: SQL[] = [eq(events.workspaceId, f.workspaceId)];
  if (f.from !== undefined) where.push(gte(events.ts, f.from));
  if (f.to !== undefined) where.push(lt(events.ts, f.to));
  if (f.type) where.push(eq(events.type, f.type));
  if (f.userId) where.push(eq(events.userId, f.userId));
  if (f.room) where.push(eq(events.room, f.room));
  if (f.errorsOnly) where.push(isNotNull(events.error));
  return where;
}

export function toStoredEvent(row: typeof events.$inferSelect): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    timestamp: new Date(row.ts).toISOString(),
    receivedAt: new Date(row.receivedAt).toISOString(),
    userId: row.userId,
    sessionId: row.sessionId,
    room: row.room,
    durationMs: row.durationMs,
    bytesIn: row.bytesIn,
    bytesOut: row.bytesOut,
    error: row.error,
    value: row.value,
    properties: row.properties ? JSON.parse(row.properties) : {},
    context: row.context ? JSON.parse(row.context) : {},
  };
}

/** Newest first, keyset-paginated on (ts, rowid) so deep pages cost what the first does. */
export async function listEvents(d: DrizzleD1Database, f: EventFilter, limit: number, cursor?: { ts: number; seq: number }) {
  const rowid = sql<number>`${events}.rowid`;
  const where = filterConditions(f);
  if (cursor) where.push(or(lt(events.ts, cursor.ts), and(eq(events.ts, cursor.ts), sql`${events}.rowid < ${cursor.seq}`))!);
  const rows = (await d
    .select({ row: events, seq: rowid })
    .from(events)
    .where(and(...where))
    .orderBy(desc(events.ts), desc(rowid))
    .limit(limit + 1)
    .all()) as Array<{ row: typeof events.$inferSelect; seq: number }>;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => toStoredEvent(r.row)),
    nextCursor: rows.length > limit && last ? encodeCursor(last.row.ts, last.seq) : null,
  };
}
