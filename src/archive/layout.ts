import type { NormalizedEvent } from '../ingest/types';

/** Hive layout of API.md "The archive": events/workspace=<id>/date=YYYY-MM-DD/hour=HH/<part>.parquet (UTC). */
export const ARCHIVE_ROOT = 'events/';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A part name becomes part of an object key: keep it to characters that need no escaping anywhere. */
const PART_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** The start (epoch ms) of the UTC hour holding `ts`. */
export function hourStart(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/** `events/workspace=<id>/` — every partition of one workspace. */
export function workspacePrefix(workspaceId: string): string {
  if (workspaceId.includes('/') || workspaceId.length === 0) throw new Error(`archive: bad workspace id ${JSON.stringify(workspaceId)}`);
  return `${ARCHIVE_ROOT}workspace=${workspaceId}/`;
}

/** `…/date=YYYY-MM-DD/` of the UTC day holding `ts`. */
export function datePrefix(workspaceId: string, ts: number): string {
  return `${workspacePrefix(workspaceId)}date=${new Date(ts).toISOString().slice(0, 10)}/`;
}

/** `…/date=YYYY-MM-DD/hour=HH/` of the UTC hour holding `ts`. */
export function hourPrefix(workspaceId: string, ts: number): string {
  return `${datePrefix(workspaceId, ts)}hour=${new Date(ts).toISOString().slice(11, 13)}/`;
}

/** The object key of one part in the hour holding `ts`. */
export function partKey(workspaceId: string, ts: number, part: string): string {
  if (!PART_RE.test(part)) throw new Error(`archive: bad part name ${JSON.stringify(part)}`);
  return `${hourPrefix(workspaceId, ts)}${part}.parquet`;
}

/** The hour (epoch ms at its start) a key's `date=`/`hour=` segments name, or null for a key outside the layout. */
export function keyHour(key: string): number | null {
  const m = /\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+\.parquet$/.exec(key);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2]}:00:00Z`);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Splits one drain's events into the objects it writes: one per (workspace, UTC hour) touched, the
 * part named after the drain, so a retried drain writes the same keys (overwrite = exactly once).
 */
export function archiveKeys(workspaceId: string, drainId: string, events: readonly NormalizedEvent[]): Map<string, NormalizedEvent[]> {
  const byKey = new Map<string, NormalizedEvent[]>();
  for (const event of events) {
    const key = partKey(workspaceId, event.ts, drainId);
    const list = byKey.get(key);
    if (list) list.push(event);
    else byKey.set(key, [event]);
  }
  return byKey;
}

/** The UTC days (epoch ms at their start) overlapping [from, to). */
export function daysInRange(from: number, to: number): number[] {
  const days: number[] = [];
  for (let d = Math.floor(from / DAY_MS) * DAY_MS; d < to; d += DAY_MS) days.push(d);
  return days;
}
