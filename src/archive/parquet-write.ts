import { ByteWriter, ParquetWriter, parquetWrite, type ColumnSource } from 'hyparquet-writer';
import type { NormalizedEvent } from '../ingest/types';
import type { ContextField } from '../shared/events';
import { ARCHIVE_COLUMNS, ARCHIVE_ROW_GROUP_ROWS, ARCHIVE_SCHEMA, CONTEXT_COLUMNS, type ArchiveColumn } from './columns';

/** Parquet key-value metadata of a compacted file: the JSON list of part names merged into it. */
export const COVERS_METADATA_KEY = 'edgepulse.covers';

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

function archiveColumnData(sorted: readonly NormalizedEvent[]): ColumnSource[] {
  return ARCHIVE_COLUMNS.map((c) => ({
    name: c.name,
    data: columnValues(sorted, c.name),
    nullable: c.required !== true,
    // Sorted millisecond times differ by little: delta encoding stores them in a few bits each.
    ...(c.kind === 'timestamp' ? { encoding: 'DELTA_BINARY_PACKED' as const } : {}),
  }));
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
  const columnData = archiveColumnData(sortForArchive(events));
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

/**
 * One archive file written a row group at a time (compaction merges sources in `ts` order into it):
 * the caller hands rows already in sortForArchive order, one group per `writeGroup`; the encoded
 * bytes (not the rows) stay in memory until `finish`.
 */
export class ArchiveFileWriter {
  private readonly bytes = new ByteWriter();
  private readonly writer: ParquetWriter;
  rows = 0;

  constructor(keyValueMetadata: Record<string, string>, options: Pick<ArchiveWriteOptions, 'codec'> = {}) {
    this.writer = new ParquetWriter({
      writer: this.bytes,
      schema: ARCHIVE_SCHEMA,
      codec: options.codec ?? 'SNAPPY',
      kvMetadata: Object.entries(keyValueMetadata).map(([key, value]) => ({ key, value })),
      createdBy: 'edgepulse archive',
    });
  }

  writeGroup(sorted: readonly NormalizedEvent[]): void {
    if (!sorted.length) return;
    void this.writer.write({ columnData: archiveColumnData(sorted), rowGroupSize: sorted.length });
    this.rows += sorted.length;
  }

  finish(): Uint8Array {
    void this.writer.finish();
    return new Uint8Array(this.bytes.getBuffer());
  }
}
