import { ByteWriter, parquetWrite, type ColumnSource } from 'hyparquet-writer';
import type { NormalizedEvent } from '../ingest/types';
import type { ContextField } from '../shared/events';
import { ARCHIVE_COLUMNS, ARCHIVE_ROW_GROUP_ROWS, ARCHIVE_SCHEMA, CONTEXT_COLUMNS, type ArchiveColumn } from './columns';

const OWN_COLUMN_CONTEXT = new Set<string>(Object.values(CONTEXT_COLUMNS));

/** The context fields without a column of their own as JSON text (sdk, url, referrer, userAgent), or null. */
function restOfContext(context: NormalizedEvent['context']): string | null {
  const rest: Partial<Record<ContextField, string>> = {};
  let any = false;
  for (const [field, v] of Object.entries(context) as [ContextField, string | undefined][]) {
    if (v === undefined || OWN_COLUMN_CONTEXT.has(field)) continue;
    rest[field] = v;
    any = true;
  }
  return any ? JSON.stringify(rest) : null;
}

/** Rows in `ts` order (then id, so equal input always yields the same bytes). */
export function sortForArchive(events: readonly NormalizedEvent[]): NormalizedEvent[] {
  return [...events].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const int64 = (v: number | null): bigint | null => (v === null ? null : BigInt(v));

function columnValues(events: readonly NormalizedEvent[], name: ArchiveColumn): (string | number | bigint | null)[] {
  switch (name) {
    case 'id': return events.map((e) => e.id);
    case 'ts': return events.map((e) => e.ts);
    case 'received_at': return events.map((e) => e.receivedAt);
    case 'type': return events.map((e) => e.type);
    case 'user_id': return events.map((e) => e.userId);
    case 'session_id': return events.map((e) => e.sessionId);
    case 'room': return events.map((e) => e.room);
    case 'duration_ms': return events.map((e) => e.durationMs);
    case 'bytes_in': return events.map((e) => int64(e.bytesIn));
    case 'bytes_out': return events.map((e) => int64(e.bytesOut));
    case 'error': return events.map((e) => e.error);
    case 'value': return events.map((e) => e.value);
    case 'properties': return events.map((e) => (Object.keys(e.properties).length ? JSON.stringify(e.properties) : null));
    case 'context': return events.map((e) => restOfContext(e.context));
    case 'gauges': return events.map((e) => (e.gauges === undefined ? null : JSON.stringify(e.gauges)));
    default: {
      const field = CONTEXT_COLUMNS[name];
      return events.map((e) => e.context[field] ?? null);
    }
  }
}

/** Parquet writer options a caller may tune (tests and the bench); the layout itself is fixed. */
export interface ArchiveWriteOptions {
  rowGroupRows?: number;
  /** SNAPPY (pure JS in hyparquet-writer) or UNCOMPRESSED; a Worker has no native zstd. */
  codec?: 'SNAPPY' | 'UNCOMPRESSED';
}

/**
 * One Parquet file of events (API.md "The archive" columns), sorted by `ts`, row groups of
 * ARCHIVE_ROW_GROUP_ROWS, min/max statistics per column chunk (the readers skip groups by `ts`).
 */
export function encodeArchiveFile(events: readonly NormalizedEvent[], options: ArchiveWriteOptions = {}): Uint8Array {
  const sorted = sortForArchive(events);
  const columnData: ColumnSource[] = ARCHIVE_COLUMNS.map((c) => ({
    name: c.name,
    data: columnValues(sorted, c.name),
    nullable: c.required !== true,
    // Sorted millisecond times differ by little: delta encoding stores them in a few bits each.
    ...(c.kind === 'timestamp' ? { encoding: 'DELTA_BINARY_PACKED' as const } : {}),
  }));
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData,
    schema: ARCHIVE_SCHEMA,
    codec: options.codec ?? 'SNAPPY',
    rowGroupSize: options.rowGroupRows ?? ARCHIVE_ROW_GROUP_ROWS,
    createdBy: 'edgepulse archive',
  });
  return new Uint8Array(writer.getBuffer());
}
