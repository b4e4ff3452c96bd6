import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';
import { HOUR } from './time';

/** The rollup `dim` of a property: `property:NAME`, beside the built-in dimensions. */
export const propertyDim = (name: string) => `property:${name}`;

/**
 * A property's value as rollups key it: text (String(true) = 'true'), cut to a bounded length so
 * one long value cannot bloat a row; null when the event has no such (own) property or it is null.
 */
export function propertyKey(e: Pick<NormalizedEvent, 'properties'>, name: string): string | null {
  const props = e.properties;
  const v = props && Object.hasOwn(props, name) ? props[name] : undefined;
  if (v === null || v === undefined) return null;
  return rollupValue(String(v));
}

export function rollupValue(v: string): string {
  return v.length > LIMITS.rollupPropertyValueMaxLength ? `${v.slice(0, LIMITS.rollupPropertyValueMaxLength)}…` : v;
}

/** A filter value that rollups can match exactly (a longer one was cut when rolled up). */
export const fitsRollups = (v: string) => v.length <= LIMITS.rollupPropertyValueMaxLength;

/** Hubs hear of a changed list within seconds (the workspace cache); events may be stamped ahead by the allowed skew. */
const LIST_LAG_MS = 2 * 60_000;

/**
 * From when a property added at `now` is in every rollup bucket: the next whole hour after the
 * list reached every hub and no event stamped before the change can still arrive stamped later.
 */
export function rollupSince(now: number): number {
  const safe = now + LIST_LAG_MS + LIMITS.futureSkewMs;
  return Math.ceil(safe / HOUR) * HOUR;
}

/** Its job_state row (the table of small per-job states; no migration needed). */
export const jobName = (workspaceId: string) => `rollup-properties:${workspaceId}`;

/** Each rollup property → the epoch ms from which its rollups are complete. */
export type RollupSince = Record<string, number>;

export async function loadRollupSince(db: D1Database, workspaceId: string): Promise<RollupSince> {
  const row = await db.prepare(`SELECT state FROM job_state WHERE name = ?1`).bind(jobName(workspaceId)).first<{ state: string }>();
  return row ? (JSON.parse(row.state) as RollupSince) : {};
}

/** The new list's since-times: kept names keep theirs, new ones start at `rollupSince(now)`. */
export function nextRollupSince(current: RollupSince, names: string[], now: number): RollupSince {
  const since = rollupSince(now);
  return Object.fromEntries(names.map((n) => [n, Object.hasOwn(current, n) ? current[n] : since]));
}

export function saveRollupSinceStatement(db: D1Database, workspaceId: string, since: RollupSince, now: number): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
    .bind(jobName(workspaceId), JSON.stringify(since), now);
}
