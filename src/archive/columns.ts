import type { SchemaElement } from 'hyparquet';
import type { ContextField } from '../shared/events';

/**
 * Rows per row group: a reader holds one group's projected columns at a time (10,000 rows of even
 * ~2 KB is 20 MB, far under a Worker's 128 MB) and skips groups by `ts` min/max — a busy hour's file
 * splits into several groups — while dictionaries still span enough rows to compress well.
 */
export const ARCHIVE_ROW_GROUP_ROWS = 10_000;

/** The context fields with a column of their own (the `context` column keeps the others). */
export const CONTEXT_COLUMNS = {
  country: 'country',
  platform: 'platform',
  os: 'os',
  browser: 'browser',
  device: 'device',
  connection_type: 'connectionType',
} as const satisfies Record<string, ContextField>;

export type ArchiveColumn =
  | 'id' | 'ts' | 'received_at' | 'type' | 'user_id' | 'session_id' | 'room' | 'duration_ms'
  | 'bytes_in' | 'bytes_out' | 'error' | 'value' | keyof typeof CONTEXT_COLUMNS
  | 'properties' | 'context' | 'gauges';

type ColumnKind = 'string' | 'timestamp' | 'double' | 'int64' | 'json';

/** The columns of API.md "The archive", in file order. */
export const ARCHIVE_COLUMNS: readonly { name: ArchiveColumn; kind: ColumnKind; required?: true }[] = [
  { name: 'id', kind: 'string', required: true },
  { name: 'ts', kind: 'timestamp', required: true },
  { name: 'received_at', kind: 'timestamp', required: true },
  { name: 'type', kind: 'string', required: true },
  { name: 'user_id', kind: 'string' },
  { name: 'session_id', kind: 'string' },
  { name: 'room', kind: 'string' },
  { name: 'duration_ms', kind: 'double' },
  { name: 'bytes_in', kind: 'int64' },
  { name: 'bytes_out', kind: 'int64' },
  { name: 'error', kind: 'string' },
  { name: 'value', kind: 'double' },
  { name: 'country', kind: 'string' },
  { name: 'platform', kind: 'string' },
  { name: 'os', kind: 'string' },
  { name: 'browser', kind: 'string' },
  { name: 'device', kind: 'string' },
  { name: 'connection_type', kind: 'string' },
  { name: 'properties', kind: 'json' },
  { name: 'context', kind: 'json' },
  { name: 'gauges', kind: 'json' },
];

export const ARCHIVE_COLUMN_NAMES: readonly ArchiveColumn[] = ARCHIVE_COLUMNS.map((c) => c.name);

function schemaElement(name: string, kind: ColumnKind, required: boolean): SchemaElement {
  const repetition_type = required ? 'REQUIRED' : 'OPTIONAL';
  switch (kind) {
    case 'string':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'json':
      // Plain UTF8 text (not the JSON logical type) so every reader shows a string it can parse.
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'timestamp':
      return {
        name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type,
      };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type };
    case 'int64':
      return { name, type: 'INT64', repetition_type };
  }
}

/** The file schema: a root and one flat column per ARCHIVE_COLUMNS entry. */
export const ARCHIVE_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: ARCHIVE_COLUMNS.length },
  ...ARCHIVE_COLUMNS.map((c) => schemaElement(c.name, c.kind, c.required === true)),
];
