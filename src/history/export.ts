import { LIMITS } from '../shared/limits';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './raw-events';

export const EXPORT_COLUMNS = [
  'id', 'type', 'timestamp', 'receivedAt', 'userId', 'sessionId', 'room', 'durationMs', 'bytesIn', 'bytesOut', 'error', 'value', 'properties', 'context',
] as const;

/** A text cell a spreadsheet would run as a formula starts with one of these (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. NUL is stripped
 * from every cell; a text cell a spreadsheet would run as a formula gets a leading `'`, so it
 * stays text; numbers are written as numbers (a negative one is no formula).
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  let s = (typeof v === 'object' ? JSON.stringify(v) : String(v)).replaceAll('\0', '');
  if (FORMULA_START.test(s)) s = `'${s}`;
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
  const sql = `SELECT ${EVENT_COLUMNS}
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
        const { results } = await db.prepare(sql).bind(...q.binds, cursor.ts, cursor.seq).all<EventRow>();
        if (results.length < LIMITS.exportPageRows) done = true;
        const last = results[results.length - 1];
        if (last) cursor = { ts: last.ts, seq: last.seq + 1 };
        let chunk = '';
        for (const r of results) {
          const e = toStoredEvent(r);
          chunk += format === 'csv' ? csvLine(EXPORT_COLUMNS.map((c) => e[c])) : `${JSON.stringify(e)}\n`;
        }
        if (chunk) controller.enqueue(enc.encode(chunk));
        if (done) controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}
