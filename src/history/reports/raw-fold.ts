import type { ArchiveColumn, ArchiveRow } from '../../archive';
import { Agg } from '../agg';
import { propertyOf, type RawScope } from '../raw/filter';
import { scanRaw, type RawSource } from '../raw/source';
import type { Dim } from '../rollups';
import type { GroupBy, ReportQuery } from './plan';

/** Aggregates keyed by group (breakdown key, '' without one), then by time point (0 without one). */
export type Groups = Map<string, Map<number, Agg>>;

/** What every fold reads besides the group key. */
const AGG_COLUMNS: ArchiveColumn[] = ['ts', 'user_id', 'session_id', 'duration_ms', 'bytes_in', 'bytes_out', 'error', 'value'];

const DIM_COLUMN: Record<Dim, 'room' | 'error' | 'country' | 'platform' | 'device' | 'browser' | 'os' | 'connection_type'> = {
  room: 'room', error: 'error', country: 'country', platform: 'platform', device: 'device', browser: 'browser', os: 'os', connectionType: 'connection_type',
};

/** The archive columns a fold grouped by `by` reads: only those (column projection). */
export function foldColumns(by: GroupBy): ArchiveColumn[] {
  switch (by.kind) {
    case 'none': return AGG_COLUMNS;
    case 'type': return [...AGG_COLUMNS, 'type'];
    case 'userId': return AGG_COLUMNS;
    case 'property': return [...AGG_COLUMNS, 'properties'];
    case 'dim': return [...AGG_COLUMNS, DIM_COLUMN[by.dim]];
  }
}

function groupKey(r: Partial<ArchiveRow>, by: GroupBy): string | null {
  switch (by.kind) {
    case 'none': return '';
    case 'type': return r.type!;
    case 'userId': return r.user_id ?? null;
    case 'property': return propertyOf(r.properties, by.name);
    case 'dim': return r[DIM_COLUMN[by.dim]] ?? null;
  }
}

export const rawScope = (q: ReportQuery, from: number, to: number): RawScope => ({ workspaceId: q.workspaceId, from, to, filters: q.filters });

/**
 * Raw events of [from, to) matching the filters, from the archive and the outbox, folded into
 * `groups` a row group at a time: memory holds one group's projected columns and the aggregates.
 */
export async function foldRaw(
  src: RawSource, q: ReportQuery, from: number, to: number, by: GroupBy, pointOf: (t: number) => number, groups: Groups,
): Promise<void> {
  for await (const rows of scanRaw(src, rawScope(q, from, to), foldColumns(by))) {
    for (const r of rows) {
      const key = groupKey(r, by);
      if (key === null) continue;
      const point = pointOf(r.ts!);
      let points = groups.get(key);
      if (!points) groups.set(key, (points = new Map()));
      let agg = points.get(point);
      if (!agg) points.set(point, (agg = new Agg()));
      agg.addEvent({
        userId: r.user_id ?? null, sessionId: r.session_id ?? null, durationMs: r.duration_ms ?? null,
        bytesIn: r.bytes_in ?? null, bytesOut: r.bytes_out ?? null, error: r.error ?? null, value: r.value ?? null,
      });
    }
  }
}
