import { LIMITS } from '../shared/limits';
import { ARCHIVE_COLUMN_NAMES, type ArchiveRow } from '../archive';
import { toStoredEvent, type RawScope } from './raw/filter';
import { rawOldestFirst } from './raw/ordered';
import type { RawSource } from './raw/source';

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

/**
 * The scope's raw events oldest first, read from the archive and the outbox a row group at a time
 * as the client pulls: memory holds one row group per part of one hour, whatever the export's size.
 */
export function exportStream(src: RawSource, scope: RawScope, format: 'csv' | 'ndjson'): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let rows: AsyncGenerator<Partial<ArchiveRow>[]> | undefined;
  let headerSent = format !== 'csv';
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(enc.encode(csvLine([...EXPORT_COLUMNS])));
          return;
        }
        rows ??= rawOldestFirst(src, scope, ARCHIVE_COLUMN_NAMES, LIMITS.exportPageRows);
        const next = await rows.next();
        if (next.done) return controller.close();
        let chunk = '';
        for (const r of next.value) {
          const e = toStoredEvent(r as ArchiveRow);
          chunk += format === 'csv' ? csvLine(EXPORT_COLUMNS.map((c) => e[c])) : `${JSON.stringify(e)}\n`;
        }
        controller.enqueue(enc.encode(chunk));
      },
      async cancel() {
        await rows?.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}
