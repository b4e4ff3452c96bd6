import { hourStart, type ArchiveColumn, type ArchiveRow } from '../../archive';
import { matchesScope, type RawScope } from './filter';
import { olderFirst, partRows, partsByHour, projection, type RawSource } from './source';

type Row = Partial<ArchiveRow>;
type Head = { row: Row; rest: AsyncIterator<Row> };

/** A binary min-heap of the sources' current rows, by (ts, id). */
class HeadHeap {
  private readonly items: Head[] = [];
  get size(): number {
    return this.items.length;
  }
  push(h: Head): void {
    const a = this.items;
    a.push(h);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (olderFirst(a[i]!.row as ArchiveRow, a[p]!.row as ArchiveRow) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Head {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && olderFirst(a[l]!.row as ArchiveRow, a[m]!.row as ArchiveRow) < 0) m = l;
        if (r < a.length && olderFirst(a[r]!.row as ArchiveRow, a[m]!.row as ArchiveRow) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

async function* fromArray(rows: Row[]): AsyncGenerator<Row> {
  yield* rows;
}

/** Merges sources each in (ts, id) order into one: memory holds one row group per source. */
async function* mergeSorted(sources: AsyncIterator<Row>[]): AsyncGenerator<Row> {
  const heap = new HeadHeap();
  for (const rest of sources) {
    const first = await rest.next();
    if (!first.done) heap.push({ row: first.value, rest });
  }
  while (heap.size) {
    const head = heap.pop();
    yield head.row;
    const next = await head.rest.next();
    if (!next.done) heap.push({ row: next.value, rest: head.rest });
  }
}

/**
 * The scope's raw events oldest first by (ts, id), in batches of up to `batchRows`: hour by hour,
 * each hour's parts (one after compaction) merged with the outbox's events of that hour. Memory:
 * one row group per part of the hour being read, and the outbox's events of the scope.
 */
export async function* rawOldestFirst(
  src: RawSource, scope: RawScope, columns: readonly ArchiveColumn[], batchRows: number,
): AsyncGenerator<Row[]> {
  const fromOutbox = (await src.outbox({ scope, columns: projection(scope, columns, true) })).sort((a, b) => olderFirst(a as ArchiveRow, b as ArchiveRow));
  const held = new Set(fromOutbox.map((r) => r.id!));
  const hubRows = new WeakSet(fromOutbox);
  const cols = projection(scope, columns, true);
  const parts = await partsByHour(src, scope.workspaceId, scope.from, scope.to);
  const outboxByHour = new Map<number, Row[]>();
  for (const r of fromOutbox) {
    const h = hourStart(r.ts!);
    const list = outboxByHour.get(h);
    if (list) list.push(r);
    else outboxByHour.set(h, [r]);
  }
  const hours = [...new Set([...parts.keys(), ...outboxByHour.keys()])].sort((a, b) => a - b);
  let batch: Row[] = [];
  for (const hour of hours) {
    const sources: AsyncIterator<Row>[] = (parts.get(hour) ?? []).map((p) => partRows(src, p, scope.from, scope.to, cols));
    const pending = outboxByHour.get(hour);
    if (pending) sources.push(fromArray(pending));
    for await (const row of mergeSorted(sources)) {
      // The hub matched its rows already; an archive row the outbox still holds is the same event again.
      if (!hubRows.has(row) && (held.has(row.id!) || !matchesScope(row, scope))) continue;
      batch.push(row);
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}
