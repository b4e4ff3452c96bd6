import type { StoredEvent } from '../shared/events';
import { FILTER_DIMS, type ReportFilters } from './reports/plan';

/** The one WHERE clause over raw events: workspace, optional [from, to), and every documented filter. */
export function rawWhere(
  scope: { workspaceId: string; filters: ReportFilters; errorsOnly?: boolean },
  from?: number,
  to?: number,
): { where: string; binds: unknown[] } {
  const where = ['workspace_id = ?1'];
  const binds: unknown[] = [scope.workspaceId];
  const add = (clause: (n: number) => string, v: unknown) => {
    if (v !== undefined) where.push(clause(binds.push(v)));
  };
  add((n) => `ts >= ?${n}`, from);
  add((n) => `ts < ?${n}`, to);
  const f = scope.filters;
  add((n) => `type = ?${n}`, f.type);
  add((n) => `room = ?${n}`, f.room);
  add((n) => `user_id = ?${n}`, f.userId);
  for (const d of FILTER_DIMS) if (d !== 'room') add((n) => `context ->> '$.${d}' = ?${n}`, f[d]);
  for (const [name, value] of Object.entries(f.properties ?? {})) {
    // Matched as rollups key it: the value as text, booleans as true/false.
    const n = binds.push(name, value);
    where.push(`EXISTS (SELECT 1 FROM json_each(properties) p WHERE p.key = ?${n - 1}
      AND (CASE p.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(p.value AS TEXT) END) = ?${n})`);
  }
  if (scope.errorsOnly) where.push('error IS NOT NULL');
  return { where: where.join(' AND '), binds };
}

/** Columns of a stored event, with the rowid that keyset paging orders ties by. */
export const EVENT_COLUMNS = `rowid AS seq, id, type, ts, received_at, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, properties, context`;

export interface EventRow {
  seq: number; id: string; type: string; ts: number; received_at: number; user_id: string | null; session_id: string | null; room: string | null;
  duration_ms: number | null; bytes_in: number | null; bytes_out: number | null; error: string | null; value: number | null;
  properties: string | null; context: string | null;
}

export function toStoredEvent(r: EventRow): StoredEvent {
  return {
    id: r.id, type: r.type, timestamp: new Date(r.ts).toISOString(), receivedAt: new Date(r.received_at).toISOString(),
    userId: r.user_id, sessionId: r.session_id, room: r.room, durationMs: r.duration_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out,
    error: r.error, value: r.value, properties: r.properties ? JSON.parse(r.properties) : {}, context: r.context ? JSON.parse(r.context) : {},
  };
}
