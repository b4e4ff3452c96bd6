import type { EventPage } from '../shared/events';
import { EVENT_COLUMNS, rawWhere, toStoredEvent, type EventRow } from './raw-events';
import type { ReportFilters } from './reports/plan';

export interface EventFilter {
  workspaceId: string;
  from?: number;
  to?: number;
  filters: ReportFilters;
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

/** Newest first, keyset-paginated on (ts, rowid) so deep pages cost what the first does. */
export async function listEvents(db: D1Database, f: EventFilter, limit: number, cursor?: { ts: number; seq: number }): Promise<EventPage> {
  const { where, binds } = rawWhere(f, f.from, f.to);
  let page = where;
  if (cursor) {
    const n = binds.push(cursor.ts, cursor.seq);
    page += ` AND (ts < ?${n - 1} OR (ts = ?${n - 1} AND rowid < ?${n}))`;
  }
  const { results } = await db
    .prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE ${page} ORDER BY ts DESC, rowid DESC LIMIT ${limit + 1}`)
    .bind(...binds)
    .all<EventRow>();
  const rows = results.slice(0, limit);
  const last = rows[rows.length - 1];
  return {
    events: rows.map(toStoredEvent),
    nextCursor: results.length > limit && last ? encodeCursor(last.ts, last.seq) : null,
  };
}
