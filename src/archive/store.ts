import type { NormalizedEvent } from '../ingest/types';
import { archiveKeys, daysInRange, datePrefix, hourStart, keyHour } from './layout';
import type { ArchiveColumn } from './columns';
import { readArchiveFile, type ArchiveRow } from './parquet-read';
import { encodeArchiveFile, type ArchiveWriteOptions } from './parquet-write';

/** The part of an R2 bucket the archive uses: the `ARCHIVE` binding, or a wrapper of it (tests count calls). */
export type ArchiveBucket = Pick<R2Bucket, 'get' | 'head' | 'put' | 'list' | 'delete'>;

/** The media type registered for Parquet files. */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

export interface WrittenPart {
  key: string;
  /** the hour (epoch ms at its start) of the partition */
  hour: number;
  events: number;
  bytes: number;
}

/**
 * Writes one drain's events as one Parquet object per (workspace, UTC hour) they touch, named after
 * `drainId`: a retry of the same drain overwrites the same objects, so each event is in one file.
 * Resolves once every object is stored (R2 put is durable on return); rejects if any put failed.
 */
export async function writeArchiveBatch(
  bucket: Pick<R2Bucket, 'put'>,
  workspaceId: string,
  drainId: string,
  events: readonly NormalizedEvent[],
  options: ArchiveWriteOptions = {},
): Promise<WrittenPart[]> {
  const parts = [...archiveKeys(workspaceId, drainId, events)];
  return Promise.all(
    parts.map(async ([key, partEvents]) => {
      const body = encodeArchiveFile(partEvents, options);
      await bucket.put(key, body, {
        httpMetadata: { contentType: PARQUET_CONTENT_TYPE },
        customMetadata: { rows: String(partEvents.length) },
      });
      return { key, hour: hourStart(partEvents[0]!.ts), events: partEvents.length, bytes: body.byteLength };
    }),
  );
}

export interface ArchivePart {
  key: string;
  /** the hour (epoch ms at its start) of the partition */
  hour: number;
  /** object size in bytes (pass to the reader as byteLength: no HEAD needed) */
  size: number;
}

/**
 * The parts of a workspace's partitions overlapping [from, to), oldest hour first: one `list` per
 * UTC day (paged), so readers open only the files whose hour can hold the range.
 */
export async function listArchiveParts(bucket: Pick<R2Bucket, 'list'>, workspaceId: string, from: number, to: number): Promise<ArchivePart[]> {
  const firstHour = hourStart(from);
  const parts: ArchivePart[] = [];
  for (const day of daysInRange(firstHour, to)) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix: datePrefix(workspaceId, day), cursor });
      for (const object of page.objects) {
        const hour = keyHour(object.key);
        if (hour !== null && hour >= firstHour && hour < to) parts.push({ key: object.key, hour, size: object.size });
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return parts.sort((a, b) => a.hour - b.hour || (a.key < b.key ? -1 : 1));
}

/**
 * Streams a workspace's archived events in [from, to) a row group at a time: partitions by hour
 * (oldest first), then row groups by `ts` statistics, then rows. Order is by hour only — parts of
 * one hour overlap in `ts` until compaction merges them.
 */
export async function* readArchiveRange(
  bucket: Pick<R2Bucket, 'get' | 'list'>,
  workspaceId: string,
  from: number,
  to: number,
  columns?: readonly ArchiveColumn[],
): AsyncGenerator<Partial<ArchiveRow>[]> {
  for (const part of await listArchiveParts(bucket, workspaceId, from, to)) {
    for await (const group of readArchiveFile(bucket, part.key, { from, to, columns, byteLength: part.size })) {
      if (group.rows.length) yield group.rows;
    }
  }
}
