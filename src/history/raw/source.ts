import { listArchiveParts, readArchiveFile, workspacePrefix, type ArchiveColumn, type ArchivePart, type ArchiveRow } from '../../archive';
import { workspaceHub } from '../../live/hubs';
import type { OutboxQuery } from '../../live/outbox-read';
import { WHOLE_FILE_BYTES } from '../../archive/parquet-read';
import { filterColumns, matchesScope, type RawScope } from './filter';

/** Where raw events live: the R2 archive, and the hub's outbox for those acknowledged but not yet drained. */
export interface RawSource {
  bucket: Pick<R2Bucket, 'get' | 'head' | 'list'>;
  outbox(q: OutboxQuery): Promise<Partial<ArchiveRow>[]>;
}

export function rawSource(env: Pick<Env, 'ARCHIVE' | 'WORKSPACE_HUB'>, workspaceId: string): RawSource {
  return {
    bucket: env.ARCHIVE,
    outbox: async (q) => (await workspaceHub(env as Env, workspaceId).outboxEvents(q)) as Partial<ArchiveRow>[],
  };
}

const DAY = 86_400_000;

/** The UTC days (ms at their start) the workspace's archive has partitions for, oldest first: one delimited list. */
export async function archiveDays(src: RawSource, workspaceId: string): Promise<number[]> {
  const days: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await src.bucket.list({ prefix: workspacePrefix(workspaceId), delimiter: '/', cursor });
    for (const p of page.delimitedPrefixes) {
      const m = /date=(\d{4}-\d{2}-\d{2})\/$/.exec(p);
      const ms = m ? Date.parse(`${m[1]}T00:00:00Z`) : NaN;
      if (Number.isFinite(ms)) days.push(ms);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return days.sort((a, b) => a - b);
}

/**
 * [from, to) narrowed to the days the archive has (null: none): a range from epoch 0 or to the far
 * future lists what exists, not one prefix per day of it.
 */
export async function archiveSpan(src: RawSource, workspaceId: string, from: number, to: number): Promise<{ from: number; to: number } | null> {
  const days = await archiveDays(src, workspaceId);
  if (!days.length) return null;
  const span = { from: Math.max(from, days[0]!), to: Math.min(to, days[days.length - 1]! + DAY) };
  return span.from < span.to ? span : null;
}

/** A question's projection plus what its filters read (and `id` when rows must be told apart from the outbox's). */
export function projection(scope: RawScope, columns: readonly ArchiveColumn[], withId: boolean): ArchiveColumn[] {
  const cols = new Set<ArchiveColumn>([...columns, ...filterColumns(scope)]);
  if (withId) cols.add('id');
  return [...cols];
}

/**
 * Every raw event in the scope, in no particular order, a row group at a time (memory: one group's
 * projected columns): first the outbox's, then the archive's minus those the outbox still holds
 * (an event sits in both between the archive put and the outbox delete). The outbox is asked first:
 * an event drained while the archive is read is then in the outbox answer or in the listing.
 */
export async function* scanRaw(src: RawSource, scope: RawScope, columns: readonly ArchiveColumn[]): AsyncGenerator<Partial<ArchiveRow>[]> {
  const fromOutbox = await src.outbox({ scope, columns: projection(scope, columns, false) });
  const held = new Set(fromOutbox.map((r) => r.id!));
  if (fromOutbox.length) yield fromOutbox;
  const cols = projection(scope, columns, held.size > 0);
  const span = await archiveSpan(src, scope.workspaceId, scope.from, scope.to);
  if (!span) return;
  const keep = (rows: Partial<ArchiveRow>[]) => rows.filter((r) => matchesScope(r, scope) && !held.has(r.id!));
  const parts = await listArchiveParts(src.bucket, scope.workspaceId, span.from, span.to);
  // Small parts (a drain's, before compaction) are read a few at a time and whole; big ones stream a row group at a time.
  for (let i = 0; i < parts.length;) {
    const small: ArchivePart[] = [];
    while (i < parts.length && parts[i]!.size <= WHOLE_FILE_BYTES && small.length < SMALL_PARTS_AT_ONCE) small.push(parts[i++]!);
    if (small.length) {
      const read = await Promise.all(small.map(async (part) => {
        const rows: Partial<ArchiveRow>[] = [];
        for await (const g of readArchiveFile(src.bucket, part.key, { from: span.from, to: span.to, columns: cols, byteLength: part.size, etag: part.etag })) rows.push(...keep(g.rows));
        return rows;
      }));
      const kept = read.flat();
      if (kept.length) yield kept;
      continue;
    }
    const part = parts[i++]!;
    for await (const g of readArchiveFile(src.bucket, part.key, { from: span.from, to: span.to, columns: cols, byteLength: part.size, etag: part.etag })) {
      const kept = keep(g.rows);
      if (kept.length) yield kept;
    }
  }
}

/** How many small parts a scan reads at once: hides R2's per-GET latency, memory stays a few MB. */
const SMALL_PARTS_AT_ONCE = 8;

/** (ts, id) ascending. */
export function olderFirst(a: Pick<ArchiveRow, 'ts' | 'id'>, b: Pick<ArchiveRow, 'ts' | 'id'>): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The listed parts grouped by hour, oldest hour first. */
export async function partsByHour(src: RawSource, workspaceId: string, from: number, to: number): Promise<Map<number, ArchivePart[]>> {
  const span = await archiveSpan(src, workspaceId, from, to);
  return groupByHour(span ? await listArchiveParts(src.bucket, workspaceId, span.from, span.to) : []);
}

export function groupByHour(parts: readonly ArchivePart[]): Map<number, ArchivePart[]> {
  const byHour = new Map<number, ArchivePart[]>();
  for (const part of parts) {
    const list = byHour.get(part.hour);
    if (list) list.push(part);
    else byHour.set(part.hour, [part]);
  }
  return byHour;
}

/** One part's rows in [from, to), in its (ts) order, a row group at a time underneath. */
export async function* partRows(src: RawSource, part: ArchivePart, from: number, to: number, columns: readonly ArchiveColumn[]): AsyncGenerator<Partial<ArchiveRow>> {
  for await (const group of readArchiveFile(src.bucket, part.key, { from, to, columns, byteLength: part.size, etag: part.etag })) yield* group.rows;
}
