import { ARCHIVE_COLUMN_NAMES, hourStart, listArchiveParts, readArchiveFile, type ArchiveRow } from '../archive';
import { isBefore, newerFirst } from '../live/outbox-read';
import type { EventPage } from '../shared/events';
import { matchesScope, toStoredEvent, type RawScope } from './raw/filter';
import { archiveDays, groupByHour, type RawSource } from './raw/source';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type EventCursor = { ts: number; id: string };

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Opaque cursor: the (ts, id) of the last event of the previous page. */
export function encodeCursor(c: EventCursor): string {
  return b64url(new TextEncoder().encode(JSON.stringify([c.ts, c.id])));
}

export function decodeCursor(cursor: string): EventCursor | null {
  try {
    const bin = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const [ts, id] = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)))) as unknown[];
    return Number.isSafeInteger(ts) && typeof id === 'string' ? { ts: ts as number, id } : null;
  } catch {
    return null;
  }
}

/**
 * A page of the event log, newest first by (ts, id). The outbox gives its newest `limit + 1`
 * matching events; the archive is walked a day's listing and an hour at a time, newest first, and
 * the walk stops once the page is full of events newer than the next hour. Within an hour each file's
 * row groups are read newest first (those after the cursor skipped by their `ts` statistics) until
 * the page is full of newer events; memory holds one row group and a page.
 */
export async function listEvents(src: RawSource, scope: RawScope, limit: number, cursor?: EventCursor): Promise<EventPage> {
  const want = limit + 1;
  const s: RawScope = { ...scope, to: cursor ? Math.min(scope.to, cursor.ts + 1) : scope.to };
  const rows = (await src.outbox({ scope: s, newest: { limit: want, before: cursor } })) as ArchiveRow[];
  const held = new Set(rows.map((r) => r.id));
  const full = () => {
    rows.sort(newerFirst);
    if (rows.length > want) rows.length = want;
    return rows.length >= want;
  };
  if (s.from < s.to) {
    for (const day of (await archiveDays(src, s.workspaceId)).reverse()) {
      if (day >= s.to) continue;
      if (day + DAY <= s.from) break;
      if (full() && rows[want - 1]!.ts >= day + DAY) break;
      const byHour = groupByHour(await listArchiveParts(src.bucket, s.workspaceId, Math.max(s.from, day), Math.min(s.to, day + DAY)));
      for (const hour of [...byHour.keys()].sort((a, b) => b - a)) {
        if (full() && rows[want - 1]!.ts >= hour + HOUR) break;
        const lo = Math.max(s.from, hour);
        const hi = Math.min(s.to, hourStart(hour) + HOUR);
        for (const part of byHour.get(hour)!) {
          const groups = readArchiveFile(src.bucket, part.key, { from: lo, to: hi, columns: ARCHIVE_COLUMN_NAMES, byteLength: part.size, newestGroupsFirst: true });
          for await (const { rows: groupRows } of groups) {
            for (const row of groupRows) {
              if (held.has(row.id!) || !matchesScope(row, s) || (cursor && !isBefore(row as ArchiveRow, cursor))) continue;
              rows.push(row as ArchiveRow);
            }
            // Groups come newest first and a file is sorted by ts: once the page is full of newer events, the rest cannot enter.
            const oldest = groupRows[0]?.ts;
            if (full() && oldest !== undefined && rows[want - 1]!.ts > oldest) break;
          }
        }
      }
    }
  }
  full();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { events: page.map(toStoredEvent), nextCursor: rows.length > limit && last ? encodeCursor({ ts: last.ts, id: last.id }) : null };
}
