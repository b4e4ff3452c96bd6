import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData, type KeyValue } from 'hyparquet';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { ARCHIVE_COLUMNS, ARCHIVE_COLUMN_NAMES, ARCHIVE_SCHEMA } from './columns';
import { r2AsyncBuffer } from './parquet-read';
import { PARQUET_CONTENT_TYPE, type ArchiveBucket } from './store';

/** Times stay epoch ms numbers and int64 stay bigint: rows are written back exactly as read. */
const PARSERS = { timestampFromMilliseconds: (ms: bigint) => Number(ms) };
const FOOTER_FETCH_BYTES = 64 * 1024;

/** What erasing one user from one object did. */
export type ObjectErasure =
  | { outcome: 'absent' } // the user has no row in it
  | { outcome: 'rewritten'; removed: number; kept: number }
  | { outcome: 'gone' } // deleted (compaction, retention, a fenced drain) before or while it was read
  | { outcome: 'changed' }; // replaced while it was read: read it again

/**
 * Rewrites one archive object without the rows of `userId`, under the SAME key (readers never see the
 * file with and without them side by side), row group by row group (memory: one group's rows), with
 * its key-value metadata (compaction's `edgepulse.covers`) kept. The put is conditional on the etag
 * the object was read at, so an object deleted or replaced meanwhile is never brought back or undone.
 * A file left with no rows stays as an empty file: deleting a `compacted.parquet` would uncover its parts.
 */
export async function eraseUserFromObject(bucket: ArchiveBucket, key: string, userId: string, version?: ObjectVersion): Promise<ObjectErasure> {
  const head = version ?? (await bucket.head(key));
  if (!head) return { outcome: 'gone' };
  try {
    const file = head.size <= WHOLE_FILE_BYTES ? await wholeFile(bucket, key, head.etag) : r2AsyncBuffer(pinned(bucket, head.etag), key, head.size);
    if (!file) return { outcome: 'gone' };
    const metadata = await parquetMetadataAsync(file, { parsers: PARSERS, initialFetchSize: FOOTER_FETCH_BYTES });
    // First only the user_id column: most files never hold the user and are left untouched.
    const groups = rowGroupRanges(metadata);
    let hits = 0;
    for (const g of groups) {
      const ids = await parquetReadObjects({ file, metadata, columns: ['user_id'], rowStart: g.start, rowEnd: g.end, parsers: PARSERS });
      for (const r of ids) if (r.user_id === userId) hits++;
    }
    if (!hits) return { outcome: 'absent' };

    const writer = new ByteWriter();
    const out = new ParquetWriter({ writer, schema: ARCHIVE_SCHEMA, codec: 'SNAPPY', kvMetadata: keptMetadata(metadata), createdBy: 'edgepulse archive' });
    let removed = 0;
    let kept = 0;
    for (const g of groups) {
      const rows = await parquetReadObjects({ file, metadata, columns: [...ARCHIVE_COLUMN_NAMES], rowStart: g.start, rowEnd: g.end, parsers: PARSERS });
      const keep = rows.filter((r) => r.user_id !== userId);
      removed += rows.length - keep.length;
      kept += keep.length;
      if (keep.length) out.write({ columnData: columnData(keep), rowGroupSize: keep.length });
    }
    out.finish();
    const stored = await bucket.put(key, new Uint8Array(writer.getBuffer()), {
      onlyIf: { etagMatches: head.etag },
      httpMetadata: { ...head.httpMetadata, contentType: PARQUET_CONTENT_TYPE },
      customMetadata: { ...head.customMetadata, rows: String(kept) },
    });
    // The precondition failed: someone replaced or deleted the object since it was read.
    if (!stored) return (await bucket.head(key)) ? { outcome: 'changed' } : { outcome: 'gone' };
    return { outcome: 'rewritten', removed, kept };
  } catch (err) {
    if (err instanceof ObjectChanged) return { outcome: 'changed' };
    throw err;
  }
}

class ObjectChanged extends Error {}

/** What `list` (with metadata included) or `head` tells of an object: enough to read and rewrite it without another HEAD. */
export type ObjectVersion = Pick<R2Object, 'size' | 'etag' | 'httpMetadata' | 'customMetadata'>;

/** Objects up to this size are read in one GET (most drain parts): their footer and columns come from memory. */
const WHOLE_FILE_BYTES = 256 * 1024;

/** The whole object at `etag` in memory, or null when it is gone; throws ObjectChanged when it was replaced. */
async function wholeFile(bucket: ArchiveBucket, key: string, etag: string): Promise<AsyncBuffer | null> {
  const object = await bucket.get(key, { onlyIf: { etagMatches: etag } });
  if (!object) return null;
  if (!('body' in object)) throw new ObjectChanged(`archive: ${key} changed before it was read`);
  const bytes = await object.arrayBuffer();
  return { byteLength: bytes.byteLength, slice: (start: number, end?: number) => bytes.slice(start, end) };
}

/** Ranged reads of the version with `etag` only: a replaced or deleted object fails the read instead of mixing versions. */
function pinned(bucket: ArchiveBucket, etag: string): Pick<R2Bucket, 'get'> {
  return {
    get: (async (key: string, options?: R2GetOptions) => {
      const object = await bucket.get(key, { ...options, onlyIf: { etagMatches: etag } });
      if (!object || !('body' in object)) throw new ObjectChanged(`archive: ${key} changed while it was read`);
      return object;
    }) as R2Bucket['get'],
  };
}

function rowGroupRanges(metadata: FileMetaData): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    out.push({ start, end });
    start = end;
  }
  return out;
}

/** The file's key-value metadata, all of it (compaction's `edgepulse.covers` among it). */
function keptMetadata(metadata: FileMetaData): KeyValue[] | undefined {
  const kv = metadata.key_value_metadata;
  return kv?.length ? kv : undefined;
}

function columnData(rows: Record<string, unknown>[]): ColumnSource[] {
  return ARCHIVE_COLUMNS.map((c) => ({
    name: c.name,
    data: rows.map((r) => {
      const v = r[c.name];
      if (v === undefined) return null;
      return c.kind === 'int64' && v !== null ? BigInt(v as number | bigint) : v;
    }) as ColumnSource['data'],
    nullable: c.required !== true,
    ...(c.kind === 'timestamp' ? { encoding: 'DELTA_BINARY_PACKED' as const } : {}),
  }));
}
