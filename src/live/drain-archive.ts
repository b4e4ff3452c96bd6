import { archiveKeys, writeArchiveBatch, type ArchiveBucket } from '../archive';
import type { NormalizedEvent } from '../ingest/types';
import type { DrainPlan } from './hub-store';

/** R2 deletes at most this many keys per call. */
const DELETE_KEYS_PER_CALL = 1_000;

/** Events archived under one name: the part name of every object they go to (one per UTC hour). */
export interface ArchiveSet {
  name: string;
  events: NormalizedEvent[];
}

/**
 * What a drain writes to the archive, named by the id its D1 write is logged under: the drain's id,
 * or each batch's id for batches from before per-drain ids. A retry writes the same keys again.
 */
export function drainArchiveSets(plan: DrainPlan): ArchiveSet[] {
  if (plan.perBatch) return plan.batches.map((b) => ({ name: b.batchId, events: b.events }));
  return [{ name: plan.id, events: plan.batches.flatMap((b) => b.events) }];
}

/** The object keys the sets are written to. */
export function archiveSetKeys(workspaceId: string, sets: readonly ArchiveSet[]): string[] {
  return sets.flatMap((s) => [...archiveKeys(workspaceId, s.name, s.events).keys()]);
}

/** Writes the sets (idempotent: same keys, same content); returns the objects put. Rejects when any put failed. */
export async function writeArchiveSets(bucket: ArchiveBucket, workspaceId: string, sets: readonly ArchiveSet[]): Promise<number> {
  let puts = 0;
  for (const set of sets) {
    if (!set.events.length) continue;
    puts += (await writeArchiveBatch(bucket, workspaceId, set.name, set.events)).length;
  }
  return puts;
}

/** Deletes the keys (a key already gone is fine). */
export async function deleteArchiveKeys(bucket: ArchiveBucket, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_KEYS_PER_CALL) await bucket.delete(keys.slice(i, i + DELETE_KEYS_PER_CALL));
}
