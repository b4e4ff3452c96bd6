import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import type { NormalizedEvent } from '../ingest/types';
import type { ContextField } from '../shared/events';
import { ARCHIVE_COLUMN_NAMES, CONTEXT_COLUMNS, type ArchiveColumn } from './columns';

/** A footer fetch this big holds the metadata of a file with dozens of row groups in one ranged read. */
const FOOTER_FETCH_BYTES = 64 * 1024;

/** A file this small (a drain's part) is read with one GET: cheaper than a footer read plus one per column. */
export const WHOLE_FILE_BYTES = 1024 * 1024;

/** Times as epoch ms numbers (not Date), in the row values and in the statistics alike. */
const PARSERS = { timestampFromMilliseconds: (ms: bigint) => Number(ms) };

/** An object vanished or was replaced (compaction, erasure, retention) while a reader held it open. */
export class ArchiveObjectChanged extends Error {
  constructor(readonly key: string, readonly gone: boolean) {
    super(`archive: ${key} ${gone ? 'is gone' : 'changed while it was read'}`);
    this.name = 'ArchiveObjectChanged';
  }
}

/**
 * A file in R2 read through ranged GETs: only the footer and the chunks asked for cross the wire.
 * With `etag`, every GET is pinned to that version: a replaced object fails instead of mixing versions.
 */
export function r2AsyncBuffer(bucket: Pick<R2Bucket, 'get'>, key: string, byteLength: number, etag?: string): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const range = { offset: start, length: end - start };
      const object = await bucket.get(key, etag === undefined ? { range } : { range, onlyIf: { etagMatches: etag } });
      // A part can vanish between list and read (compaction, retention): say which, never return short data.
      if (!object) throw new ArchiveObjectChanged(key, true);
      if (!('arrayBuffer' in object)) throw new ArchiveObjectChanged(key, false);
      return object.arrayBuffer();
    },
  };
}

/** Reads a file's footer (one ranged GET for most files), pinned to `etag` when given. */
export function readArchiveMetadata(bucket: Pick<R2Bucket, 'get'>, key: string, byteLength: number, etag?: string): Promise<FileMetaData> {
  return parquetMetadataAsync(r2AsyncBuffer(bucket, key, byteLength, etag), { parsers: PARSERS, initialFetchSize: FOOTER_FETCH_BYTES });
}

/** A small object read whole (pinned to `etag` when given), as an AsyncBuffer over its bytes. */
async function wholeFile(bucket: Pick<R2Bucket, 'get'>, key: string, etag?: string): Promise<AsyncBuffer> {
  const object = await bucket.get(key, etag === undefined ? undefined : { onlyIf: { etagMatches: etag } });
  if (!object) throw new ArchiveObjectChanged(key, true);
  if (!('arrayBuffer' in object)) throw new ArchiveObjectChanged(key, false);
  const bytes = await object.arrayBuffer();
  return { byteLength: bytes.byteLength, slice: (start: number, end?: number) => bytes.slice(start, end) };
}

/** One archive row as read back: every column's value, times as epoch ms, int64 as number. */
export interface ArchiveRow {
  id: string;
  ts: number;
  received_at: number;
  type: string;
  user_id: string | null;
  session_id: string | null;
  room: string | null;
  duration_ms: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
  error: string | null;
  value: number | null;
  country: string | null;
  platform: string | null;
  os: string | null;
  browser: string | null;
  device: string | null;
  connection_type: string | null;
  properties: string | null;
  context: string | null;
  gauges: string | null;
}

export interface ArchiveReadOptions {
  /** Only rows with from ≤ ts < to; row groups whose `ts` min/max miss the range are not fetched. */
  from?: number;
  to?: number;
  /** The columns to fetch (all when absent); `ts` is added when a range is given. */
  columns?: readonly ArchiveColumn[];
  /** The file's size, from `list` (saves a HEAD); fetched when absent. */
  byteLength?: number;
  /** Pin every GET to this version (from `list`); a replaced or deleted object throws ArchiveObjectChanged. */
  etag?: string;
  /** The footer, when the caller read it already (saves its GET). */
  metadata?: FileMetaData;
  /** Row groups newest first (the event log): a reader stops once older groups cannot matter. */
  newestGroupsFirst?: boolean;
  /** Files up to this size are fetched whole in one GET (default WHOLE_FILE_BYTES); larger ones by ranged GETs. */
  wholeFileMaxBytes?: number;
}

/** One row group's rows, in `ts` order; `rowGroup` is its index in the file. */
export interface ArchiveRowGroup<Row> {
  rowGroup: number;
  rows: Row[];
}

function tsBounds(metadata: FileMetaData, group: number): { min: number; max: number } | null {
  const chunk = metadata.row_groups[group]!.columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'ts');
  const stats = chunk?.meta_data?.statistics;
  const min = stats?.min_value ?? stats?.min;
  const max = stats?.max_value ?? stats?.max;
  return typeof min === 'number' && typeof max === 'number' ? { min, max } : null;
}

function toNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/**
 * Streams one archive file a row group at a time (memory: one group's projected columns), skipping
 * the groups whose `ts` statistics lie outside [from, to).
 */
export async function* readArchiveFile(
  bucket: Pick<R2Bucket, 'get'> & Partial<Pick<R2Bucket, 'head'>>,
  key: string,
  options: ArchiveReadOptions = {},
): AsyncGenerator<ArchiveRowGroup<Partial<ArchiveRow>>> {
  let byteLength = options.byteLength;
  if (byteLength === undefined) {
    const head = bucket.head ? await bucket.head(key) : null;
    if (!head) throw new ArchiveObjectChanged(key, true);
    byteLength = head.size;
  }
  const file = byteLength <= (options.wholeFileMaxBytes ?? WHOLE_FILE_BYTES) && !options.metadata
    ? await wholeFile(bucket, key, options.etag)
    : r2AsyncBuffer(bucket, key, byteLength, options.etag);
  const metadata = options.metadata ?? (await parquetMetadataAsync(file, { parsers: PARSERS, initialFetchSize: FOOTER_FETCH_BYTES }));
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  const ranged = options.from !== undefined || options.to !== undefined;
  let columns = options.columns ? [...options.columns] : [...ARCHIVE_COLUMN_NAMES];
  if (ranged && !columns.includes('ts')) columns = [...columns, 'ts'];

  const starts: number[] = [];
  let rowStart = 0;
  for (const g of metadata.row_groups) {
    starts.push(rowStart);
    rowStart += Number(g.num_rows);
  }
  const order = starts.map((_, i) => i);
  if (options.newestGroupsFirst) order.reverse();
  for (const group of order) {
    const groupRows = Number(metadata.row_groups[group]!.num_rows);
    const groupStart = starts[group]!;
    const bounds = tsBounds(metadata, group);
    if (ranged && bounds && (bounds.max < from || bounds.min >= to)) continue;
    const raw = await parquetReadObjects({
      file, metadata, columns, rowStart: groupStart, rowEnd: groupStart + groupRows, parsers: PARSERS,
    });
    const rows: Partial<ArchiveRow>[] = [];
    for (const r of raw) {
      if (ranged && !(r.ts >= from && r.ts < to)) continue;
      for (const c of columns) if (r[c] === undefined) r[c] = null;
      if ('bytes_in' in r) r.bytes_in = toNumber(r.bytes_in);
      if ('bytes_out' in r) r.bytes_out = toNumber(r.bytes_out);
      rows.push(r as Partial<ArchiveRow>);
    }
    yield { rowGroup: group, rows };
  }
}

/** A full archive row back to the event the drain wrote (the inverse of encodeArchiveFile). */
export function archiveRowToEvent(row: ArchiveRow): NormalizedEvent {
  const context = (row.context === null ? {} : JSON.parse(row.context)) as Partial<Record<ContextField, string>>;
  for (const [column, field] of Object.entries(CONTEXT_COLUMNS) as [keyof typeof CONTEXT_COLUMNS, ContextField][]) {
    const v = row[column];
    if (v !== null) context[field] = v;
  }
  const event: NormalizedEvent = {
    id: row.id,
    type: row.type,
    ts: row.ts,
    receivedAt: row.received_at,
    userId: row.user_id,
    sessionId: row.session_id,
    room: row.room,
    durationMs: row.duration_ms,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    error: row.error,
    value: row.value,
    properties: row.properties === null ? {} : JSON.parse(row.properties),
    context,
  };
  if (row.gauges !== null) event.gauges = JSON.parse(row.gauges);
  return event;
}

/** Streams one file's events (all columns) a row group at a time, within [from, to) when given. */
export async function* readArchiveEvents(
  bucket: Pick<R2Bucket, 'get'> & Partial<Pick<R2Bucket, 'head'>>,
  key: string,
  options: Omit<ArchiveReadOptions, 'columns'> = {},
): AsyncGenerator<NormalizedEvent[]> {
  for await (const group of readArchiveFile(bucket, key, options)) {
    yield group.rows.map((r) => archiveRowToEvent(r as ArchiveRow));
  }
}
