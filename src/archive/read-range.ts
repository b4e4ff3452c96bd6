import { daysInRange, hourStart } from './layout';
import type { ArchiveColumn } from './columns';
import { ArchiveObjectChanged, readArchiveFile, type ArchiveRow } from './parquet-read';
import { listArchiveHour, listDay, openArchiveHour, partName, partOverlaps, type ArchiveHour, type ArchivePart } from './store';

/** Reading the archive: hour by hour under the compaction rule, each event once while files change underneath. */

/** How often one hour is re-listed after its objects changed under a read before the read gives up. */
const HOUR_READ_ATTEMPTS = 4;

interface Watermark {
  ts: number;
  id: string;
}

/** (ts, id) after the mark: every file is sorted so (sortForArchive), so a mark is a read's progress in it. */
const after = (r: Partial<ArchiveRow>, mark: Watermark | null) => mark === null || r.ts! > mark.ts || (r.ts === mark.ts && r.id! > mark.id);
/** The mark after a group was read: its last row, unless a file re-read from its start is still behind the mark. */
function advance(mark: Watermark | null, rows: Partial<ArchiveRow>[]): Watermark | null {
  const last = rows[rows.length - 1];
  return last && after(last, mark) ? { ts: last.ts!, id: last.id! } : mark;
}

/** A part still to read; `upTo`: only its rows up to this mark (the rest are read in a newer compacted file). */
interface PendingPart {
  part: ArchivePart;
  upTo?: Watermark;
}

/**
 * Reads one hour under the compaction rule, each event once even if compaction or erasure replaces
 * files meanwhile. Rows stream as read (an hour is never buffered): progress in a file is a (ts, id)
 * watermark, so after a change the hour is re-listed and the compacted file's successor is read past
 * its watermark, the parts it newly covers (kept through the grace period) up to it, and a rewritten
 * part past its own; an hour nothing was yielded from yet simply starts over. Only a part deleted
 * (past its grace period) under a read that had yielded rows of the hour fails the read.
 */
async function* readArchiveHour(
  bucket: Pick<R2Bucket, 'get' | 'list'>,
  workspaceId: string,
  opened: ArchiveHour,
  from: number,
  to: number,
  columns: readonly ArchiveColumn[] | undefined,
): AsyncGenerator<Partial<ArchiveRow>[]> {
  const cols = columns ? [...new Set<ArchiveColumn>([...columns, 'ts', 'id'])] : undefined;
  let compacted = opened.compacted;
  let compactedMark: Watermark | null = null;
  const pending = new Map<string, PendingPart>(opened.parts.map((part) => [part.key, { part }]));
  const partMarks = new Map<string, Watermark>();

  for (let attempt = 1; ; attempt++) {
    try {
      if (compacted) {
        const file = compacted;
        for await (const group of readArchiveFile(bucket, file.key, { from, to, columns: cols, byteLength: file.size, etag: file.etag, metadata: file.metadata })) {
          const rows = group.rows.filter((r) => after(r, compactedMark));
          compactedMark = advance(compactedMark, group.rows);
          if (rows.length) yield rows;
        }
        compacted = null;
      }
      for (const [key, { part, upTo }] of pending) {
        for await (const group of readArchiveFile(bucket, key, { from, to, columns: cols, byteLength: part.size, etag: part.etag })) {
          const mark = partMarks.get(key) ?? null;
          const rows = group.rows.filter((r) => after(r, mark) && (upTo === undefined || !after(r, upTo)));
          const next = advance(mark, group.rows);
          if (next) partMarks.set(key, next);
          if (rows.length) yield rows;
        }
        pending.delete(key);
      }
      return;
    } catch (err) {
      if (!(err instanceof ArchiveObjectChanged) || attempt >= HOUR_READ_ATTEMPTS) throw err;
      const again = await listArchiveHour(bucket, workspaceId, opened.hour);
      if (compactedMark === null && partMarks.size === 0) {
        // Nothing of this hour was yielded yet: start it over from the new listing.
        compacted = again.compacted;
        pending.clear();
        for (const part of again.parts) pending.set(part.key, { part });
        continue;
      }
      const covers = again.compacted?.covers ?? new Set<string>();
      const fresh = new Map([...again.parts, ...again.covered].map((p) => [p.key, p]));
      const readingCompacted = compacted !== null;
      for (const [key, entry] of pending) {
        const newlyCovered = covers.has(partName(key)) && entry.upTo === undefined && !partMarks.has(key);
        const now = fresh.get(key);
        if (!now) {
          // Deleted by retention or erasure: nothing to read. Merged and then deleted: its rows are lost to this read.
          if (partMarks.has(key) || (newlyCovered && !(readingCompacted && compactedMark === null))) throw err;
          pending.delete(key);
          continue;
        }
        entry.part = now;
        if (newlyCovered && readingCompacted) {
          // The compacted file's successor holds this part's rows past the mark; the part itself the rest.
          if (compactedMark === null) pending.delete(key);
          else entry.upTo = compactedMark;
        }
      }
      // A part that appeared meanwhile is read too (covered ones only through a compacted file being read).
      for (const part of again.parts) if (!pending.has(part.key) && !partMarks.has(part.key)) pending.set(part.key, { part });
      if (readingCompacted) compacted = again.compacted;
    }
  }
}

/**
 * Streams a workspace's archived events in [from, to): hour by hour (oldest first; each day listed
 * when the read reaches it), in each hour the compacted file then the parts it does not cover, row
 * groups skipped by `ts` statistics. Order is by hour only — parts of one hour overlap in `ts`.
 * Rows carry `ts` and `id` besides the columns asked for.
 */
export async function* readArchiveRange(
  bucket: Pick<R2Bucket, 'get' | 'list'>,
  workspaceId: string,
  from: number,
  to: number,
  columns?: readonly ArchiveColumn[],
): AsyncGenerator<Partial<ArchiveRow>[]> {
  for (const day of daysInRange(hourStart(from), to)) {
    for (const [hour, objects] of await listDay(bucket, workspaceId, day, from, to)) {
      let opened: ArchiveHour;
      try {
        opened = await openArchiveHour(bucket, hour, objects);
      } catch (err) {
        if (!(err instanceof ArchiveObjectChanged)) throw err;
        opened = await listArchiveHour(bucket, workspaceId, hour);
      }
      yield* readArchiveHour(bucket, workspaceId, { ...opened, parts: opened.parts.filter((p) => partOverlaps(p, from, to)) }, from, to, columns);
    }
  }
}
