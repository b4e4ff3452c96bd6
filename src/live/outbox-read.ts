import type { ArchiveColumn, ArchiveRow } from '../archive';
import { eventToArchiveRow, matchesScope, type RawScope } from '../history/raw/filter';
import type { NormalizedEvent } from '../ingest/types';

/** What a raw reader asks of the hub's not-yet-drained outbox (one RPC per question). */
export interface OutboxQuery {
  scope: RawScope;
  /** Only these columns of each row (all when absent); `id` and `ts` are always there. */
  columns?: readonly ArchiveColumn[];
  /** The event log: only the `limit` newest rows before `before` (ts, then id, descending). */
  newest?: { limit: number; before?: { ts: number; id: string } };
}

/** (ts, id) descending: the event log's order. */
export function newerFirst(a: Pick<ArchiveRow, 'ts' | 'id'>, b: Pick<ArchiveRow, 'ts' | 'id'>): number {
  return b.ts - a.ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Whether (ts, id) comes strictly after `before` in the event log's order (older). */
export function isBefore(row: Pick<ArchiveRow, 'ts' | 'id'>, before: { ts: number; id: string }): boolean {
  return row.ts < before.ts || (row.ts === before.ts && row.id < before.id);
}

function project(row: ArchiveRow, columns: readonly ArchiveColumn[] | undefined): Partial<ArchiveRow> {
  if (!columns) return row;
  const out: Partial<ArchiveRow> = { id: row.id, ts: row.ts };
  for (const c of columns) (out as Record<string, unknown>)[c] = row[c];
  return out;
}

/**
 * The outbox events in a query's scope, as archive rows. Reads the outbox a batch at a time (the
 * cursor is lazy); with `newest`, keeps only the page's worth, so the answer stays small.
 */
export function readOutbox(sql: SqlStorage, q: OutboxQuery): Partial<ArchiveRow>[] {
  const out: ArchiveRow[] = [];
  const keep = q.newest ? q.newest.limit : Infinity;
  for (const { events } of sql.exec<{ events: string }>(`SELECT events FROM outbox ORDER BY seq`)) {
    for (const event of JSON.parse(events) as NormalizedEvent[]) {
      if (event.ts < q.scope.from || event.ts >= q.scope.to) continue;
      const row = eventToArchiveRow(event);
      if (!matchesScope(row, q.scope)) continue;
      if (q.newest?.before && !isBefore(row, q.newest.before)) continue;
      out.push(row);
    }
    // Trim now and then, not per row: sorting stays amortised, memory stays ~2 pages.
    if (out.length > 2 * keep) out.sort(newerFirst).length = keep;
  }
  if (out.length > keep) out.sort(newerFirst).length = keep;
  return out.map((r) => project(r, q.columns));
}
