import { LIMITS } from '../shared/limits';
import type { StoredEvent } from '../shared/events';

export const EXPORT_COLUMNS = [
  'id', 'type', 'timestamp', 'receivedAt', 'userId', 'sessionId', 'room', 'durationMs', 'bytesIn', 'bytesOut', 'error', 'value', 'properties', 'context',
] as const;

interface Row {
  seq: number; id: string; type: string; ts: number; received_at: number; user_id: string | null; session_id: string | null; room: string | null;
  duration_ms: number | null; bytes_in: number | null; bytes_out: number | null; error: string | null; value: number | null;
  properties: string | null; context: string | null;
}

function toEvent(r: Row): StoredEvent {
  return {
    id: r.id, type: r.type, timestamp: new Date(r.ts).toISOString(), receivedAt: new Date(r.received_at).toISOString(),
    userId: r.user_id, sessionId: r.session_id, room: r.room, durationMs: r.duration_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out,
    error: r.error, value: r.value, properties: r.properties ? JSON.parse(r.properties) : {}, context: r.context ? JSON.parse(r.context) : {},
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (values: unknown[]) => `${values.map(csvField).join(',')}\r\n`;

export interface ExportQuery {
  workspaceId: string;
  from: number;
  to: number;
  where: string;
  binds: unknown[];
}

/**
 * The range's raw events, oldest first, read in keyset pages of `exportPageRows` as the reader
 * pulls: memory holds one page, whatever the export's size.
 */
export function exportStream(db: D1Database, q: ExportQuery, format: 'csv' | 'ndjson'): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let cursor = { ts: q.from, seq: 0 };
  let headerSent = format !== 'csv';
  let done = false;
  const n = q.binds.length;
  const sql = `SELECT rowid AS seq, id, type, ts, received_at, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, properties, context
    FROM events WHERE ${q.where} AND ts >= ?${n + 1} AND (ts > ?${n + 1} OR rowid >= ?${n + 2})
    ORDER BY ts, rowid LIMIT ${LIMITS.exportPageRows}`;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(enc.encode(csvLine([...EXPORT_COLUMNS])));
          return;
        }
        if (done) return controller.close();
        const { results } = await db.prepare(sql).bind(...q.binds, cursor.ts, cursor.seq).all<Row>();
        if (results.length < LIMITS.exportPageRows) done = true;
        const last = results[results.length - 1];
        if (last) cursor = { ts: last.ts, seq: last.seq + 1 };
        let chunk = '';
        for (const r of results) {
          const e = toEvent(r);
          chunk += format === 'csv' ? csvLine(EXPORT_COLUMNS.map((c) => e[c])) : `${JSON.stringify(e)}\n`;
        }
        if (chunk) controller.enqueue(enc.encode(chunk));
        if (done) controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}
