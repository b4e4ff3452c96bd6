import type { NormalizedEvent } from '../ingest/types';
import type { FileMetaData } from 'hyparquet';
import { archiveKeys, daysInRange, datePrefix, hourStart, keyHour } from './layout';
import { readArchiveMetadata } from './parquet-read';
import { COVERS_METADATA_KEY, encodeArchiveFile, type ArchiveWriteOptions } from './parquet-write';

const HOUR_MS = 3_600_000;

/** The part name of an hour's merged file (API.md "The archive"). */
export const COMPACTED_PART = 'compacted';

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
      let minTs = Infinity;
      let maxTs = -Infinity;
      for (const e of partEvents) {
        if (e.ts < minTs) minTs = e.ts;
        if (e.ts > maxTs) maxTs = e.ts;
      }
      await bucket.put(key, body, {
        httpMetadata: { contentType: PARQUET_CONTENT_TYPE },
        // The ts span rides in the listing: readers skip a part outside their range without a GET.
        customMetadata: { rows: String(partEvents.length), minTs: String(minTs), maxTs: String(maxTs) },
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
  /** the version listed: reads pin to it */
  etag: string;
  /** when R2 stored this version */
  uploaded: Date;
  /** the span of its events' ts, when the writer recorded it (drain parts do) */
  minTs?: number;
  maxTs?: number;
}

/** Whether a part can hold events of [from, to): true unless its recorded ts span says otherwise. */
export function partOverlaps(part: ArchivePart, from: number, to: number): boolean {
  return part.minTs === undefined || part.maxTs === undefined || (part.maxTs >= from && part.minTs < to);
}

function tsSpan(object: R2Object): { minTs?: number; maxTs?: number } {
  const minTs = Number(object.customMetadata?.minTs);
  const maxTs = Number(object.customMetadata?.maxTs);
  return Number.isFinite(minTs) && Number.isFinite(maxTs) ? { minTs, maxTs } : {};
}

/** One hour partition as the compaction rule reads it (DESIGN: shared decision 1). */
export interface ArchiveHour {
  hour: number;
  /** `compacted.parquet` with the part names it covers, or null */
  compacted: (ArchivePart & { covers: ReadonlySet<string>; metadata: FileMetaData }) | null;
  /** the parts a reader reads beside the compacted file */
  parts: ArchivePart[];
  /** parts the compacted file holds already: ignored by readers, deleted by the cron after a grace period */
  covered: ArchivePart[];
}

/** The name of a key's part (`<part>.parquet` → `<part>`). */
export function partName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1, -'.parquet'.length);
}

/** The part names a compacted file's footer says it merged. */
export function compactedCovers(metadata: FileMetaData, key: string): Set<string> {
  const raw = metadata.key_value_metadata?.find((kv) => kv.key === COVERS_METADATA_KEY)?.value;
  const covers: unknown = raw === undefined ? undefined : JSON.parse(raw);
  // Without its covers list a compacted file cannot be read beside its parts without counting twice.
  if (!Array.isArray(covers) || !covers.every((c) => typeof c === 'string')) throw new Error(`archive: ${key} has no ${COVERS_METADATA_KEY} list`);
  return new Set(covers);
}

/** Groups listed objects (any order) by hour, oldest first, keys in order within each. */
function byHour(objects: readonly R2Object[], firstHour: number, to: number): Map<number, ArchivePart[]> {
  const hours = new Map<number, ArchivePart[]>();
  for (const object of objects) {
    const hour = keyHour(object.key);
    if (hour === null || hour < firstHour || hour >= to) continue;
    const part: ArchivePart = { key: object.key, hour, size: object.size, etag: object.etag, uploaded: object.uploaded, ...tsSpan(object) };
    const list = hours.get(hour);
    if (list) list.push(part);
    else hours.set(hour, [part]);
  }
  for (const list of hours.values()) list.sort((a, b) => (a.key < b.key ? -1 : 1));
  return new Map([...hours].sort((a, b) => a[0] - b[0]));
}

/** Applies the compaction rule to one hour's objects: opens the compacted file's footer (pinned) for its covers. */
export async function openArchiveHour(bucket: Pick<R2Bucket, 'get'>, hour: number, objects: readonly ArchivePart[]): Promise<ArchiveHour> {
  const compactedObject = objects.find((o) => partName(o.key) === COMPACTED_PART);
  const others = objects.filter((o) => o !== compactedObject);
  if (!compactedObject) return { hour, compacted: null, parts: others, covered: [] };
  const metadata = await readArchiveMetadata(bucket, compactedObject.key, compactedObject.size, compactedObject.etag);
  const covers = compactedCovers(metadata, compactedObject.key);
  return {
    hour,
    compacted: { ...compactedObject, covers, metadata },
    parts: others.filter((o) => !covers.has(partName(o.key))),
    covered: others.filter((o) => covers.has(partName(o.key))),
  };
}

/** Lists one UTC day's objects of a workspace (paged), grouped by hour within [from, to). */
export async function listDay(bucket: Pick<R2Bucket, 'list'>, workspaceId: string, day: number, from: number, to: number): Promise<Map<number, ArchivePart[]>> {
  const objects: R2Object[] = [];
  let cursor: string | undefined;
  do {
    // `include` (R2's list option, missing from these runtime types) brings each part's ts span along.
    const page = await bucket.list({ prefix: datePrefix(workspaceId, day), cursor, include: ['customMetadata'] } as R2ListOptions);
    objects.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return byHour(objects, hourStart(from), to);
}

/** Lists one hour partition and applies the compaction rule to it. */
export async function listArchiveHour(bucket: Pick<R2Bucket, 'list' | 'get'>, workspaceId: string, hour: number): Promise<ArchiveHour> {
  const objects = (await listDay(bucket, workspaceId, hour, hour, hour + HOUR_MS)).get(hour) ?? [];
  return openArchiveHour(bucket, hour, objects);
}

/**
 * The files a reader reads for a workspace's partitions overlapping [from, to), oldest hour first:
 * in each hour its compacted file (if any) then the parts it does not cover. One `list` per UTC day
 * (paged) and one footer GET per compacted hour.
 */
export async function listArchiveParts(bucket: Pick<R2Bucket, 'list' | 'get'>, workspaceId: string, from: number, to: number): Promise<ArchivePart[]> {
  const parts: ArchivePart[] = [];
  for (const day of daysInRange(hourStart(from), to)) {
    for (const [hour, objects] of await listDay(bucket, workspaceId, day, from, to)) {
      const opened = await openArchiveHour(bucket, hour, objects);
      if (opened.compacted) parts.push(opened.compacted);
      parts.push(...opened.parts.filter((p) => partOverlaps(p, from, to)));
    }
  }
  return parts;
}
