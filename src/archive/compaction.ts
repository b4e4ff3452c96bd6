import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';
import { ARCHIVE_ROW_GROUP_ROWS } from './columns';
import { hourPrefix, keyHour } from './layout';
import { archiveRowToEvent, readArchiveFile, readArchiveMetadata, type ArchiveRow } from './parquet-read';
import { ArchiveFileWriter, COVERS_METADATA_KEY, sortForArchive } from './parquet-write';
import { deleteKeys } from './r2-ops';
import { COMPACTED_PART, PARQUET_CONTENT_TYPE, openArchiveHour, partName, type ArchiveBucket, type ArchiveHour, type ArchivePart } from './store';

const HOUR_MS = 3_600_000;

export interface HourCompaction {
  /** parts merged into the compacted file by this call */
  merged: number;
  /** rows in the compacted file written (0: none written) */
  rows: number;
  /** covered parts deleted (their grace period was over) */
  deleted: number;
}

/** Events of whole files (all columns), in file order. */
async function readEvents(bucket: Pick<R2Bucket, 'get'>, part: ArchivePart): Promise<NormalizedEvent[]> {
  const out: NormalizedEvent[] = [];
  for await (const group of readArchiveFile(bucket, part.key, { byteLength: part.size, etag: part.etag })) {
    for (const row of group.rows) out.push(archiveRowToEvent(row as ArchiveRow));
  }
  return out;
}

const before = (a: NormalizedEvent, b: NormalizedEvent) => a.ts < b.ts || (a.ts === b.ts && a.id < b.id);

/**
 * The parts merged this time: in key order, until their rows pass LIMITS.archiveMergeRowsMax (at
 * least one) — they are held decoded, while the compacted file streams a row group at a time.
 */
async function mergeBatch(bucket: Pick<R2Bucket, 'get'>, parts: readonly ArchivePart[]): Promise<ArchivePart[]> {
  const batch: ArchivePart[] = [];
  let rows = 0;
  for (const part of parts) {
    const metadata = await readArchiveMetadata(bucket, part.key, part.size, part.etag);
    rows += Number(metadata.num_rows);
    if (batch.length && rows > LIMITS.archiveMergeRowsMax) break;
    batch.push(part);
  }
  return batch;
}

/**
 * One closed hour (compaction rule, shared decision 1): deletes the parts its compacted file covered
 * for longer than the grace period, then merges the parts beside it (a bounded batch) with it into a
 * new `compacted.parquet` — sorted by (ts, id), row groups of ARCHIVE_ROW_GROUP_ROWS, covers = the old
 * covers plus the batch — put in one R2 put conditional on the compacted file it read.
 */
export async function compactHour(bucket: ArchiveBucket, workspaceId: string, hour: ArchiveHour, now: number): Promise<HourCompaction> {
  const out: HourCompaction = { merged: 0, rows: 0, deleted: 0 };
  if (!hourIsClosed(hour.hour, now)) return out;
  const { compacted } = hour;
  if (compacted && now - compacted.uploaded.getTime() >= LIMITS.archivePartGraceMs && hour.covered.length) {
    await deleteKeys(bucket, hour.covered.map((p) => p.key));
    out.deleted = hour.covered.length;
  }
  const mergeable = compacted ? hour.parts.length >= 1 : hour.parts.length >= 2;
  if (!mergeable || (compacted && compacted.size > LIMITS.archiveCompactedMaxBytes)) return out;

  const batch = await mergeBatch(bucket, hour.parts);
  const small = sortForArchive((await Promise.all(batch.map((p) => readEvents(bucket, p)))).flat());
  const covers = [...(compacted?.covers ?? []), ...batch.map((p) => partName(p.key))];
  const writer = new ArchiveFileWriter({ [COVERS_METADATA_KEY]: JSON.stringify(covers) });
  let group: NormalizedEvent[] = [];
  const emit = (event: NormalizedEvent) => {
    group.push(event);
    if (group.length >= ARCHIVE_ROW_GROUP_ROWS) (writer.writeGroup(group), (group = []));
  };
  let next = 0;
  if (compacted) {
    for await (const rows of readArchiveFile(bucket, compacted.key, { byteLength: compacted.size, etag: compacted.etag, metadata: compacted.metadata })) {
      for (const row of rows.rows) {
        const event = archiveRowToEvent(row as ArchiveRow);
        while (next < small.length && before(small[next]!, event)) emit(small[next++]!);
        emit(event);
      }
    }
  }
  while (next < small.length) emit(small[next++]!);
  writer.writeGroup(group);
  const body = writer.finish();

  const key = `${hourPrefix(workspaceId, hour.hour)}${COMPACTED_PART}.parquet`;
  // Conditional on the file merged, or on there being none: replaced meanwhile (an erasure, another run), the put
  // returns null and the next run merges again — a merge never drops what a concurrent writer covered.
  const put = await bucket.put(key, body, {
    httpMetadata: { contentType: PARQUET_CONTENT_TYPE },
    customMetadata: { rows: String(writer.rows) },
    onlyIf: compacted ? { etagMatches: compacted.etag } : { etagDoesNotMatch: '*' },
  });
  if (!put) return out;
  out.merged = batch.length;
  out.rows = writer.rows;
  return out;
}

/** An hour is merged once it closed and the margin for late drains passed. */
export function hourIsClosed(hour: number, now: number): boolean {
  return hour + HOUR_MS + LIMITS.archiveCompactionMarginMs <= now;
}

export interface CompactionResult {
  hoursCompacted: number;
  partsMerged: number;
  rowsWritten: number;
  partsDeleted: number;
}

/** Compacts one listed hour (`objects`: the hour's objects, from a workspace listing) if it is closed. */
export async function compactListedHour(bucket: ArchiveBucket, workspaceId: string, objects: readonly R2Object[], now: number, result: CompactionResult): Promise<void> {
  const hour = keyHour(objects[0]!.key);
  if (hour === null || !hourIsClosed(hour, now) || objects.length < 2) return;
  const parts = objects.map((o) => ({ key: o.key, hour, size: o.size, etag: o.etag, uploaded: o.uploaded }));
  const opened = await openArchiveHour(bucket, hour, parts);
  const done = await compactHour(bucket, workspaceId, opened, now);
  if (done.rows) result.hoursCompacted++;
  result.partsMerged += done.merged;
  result.rowsWritten += done.rows;
  result.partsDeleted += done.deleted;
}
