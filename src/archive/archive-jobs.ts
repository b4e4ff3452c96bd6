import { compactListedHour, type CompactionResult } from './compaction';
import { deleteJobState, jobsNamed, readJobState, writeJobState } from './job-state';
import { workspacePrefix } from './layout';
import { countingBucket, deletePrefix, noOps, type R2Ops } from './r2-ops';
import type { ArchiveBucket } from './store';

const DAY_MS = 86_400_000;
/** job_state: where the compaction scan stopped (a workspace, the last key of the last hour handled). */
const COMPACTION_JOB = 'archive-compaction';
/** job_state rows `archive-delete:<workspace id>`: a deleted workspace whose archive objects are still being deleted. */
const DELETE_JOB_PREFIX = 'archive-delete:';

export interface ArchiveJobsResult {
  workspacesErased: number;
  objectsDeleted: number;
  partitionsExpired: number;
  compaction: CompactionResult;
  /** hours skipped after an error (retried next run) */
  hourErrors: number;
  ops: R2Ops;
  complete: boolean;
}

/** The job_state row marking a deleted workspace's archive for deletion (inserted with the D1 deletes). */
export function archiveDeletionJob(workspaceId: string, now = Date.now()): { name: string; state: string; updatedAt: number } {
  return { name: `${DELETE_JOB_PREFIX}${workspaceId}`, state: JSON.stringify({ workspaceId }), updatedAt: now };
}

/** Deletes a deleted workspace's objects until none is left (then its marker) or the deadline. */
export async function eraseWorkspaceArchive(bucket: ArchiveBucket, db: D1Database, workspaceId: string, deadline: number): Promise<{ deleted: number; complete: boolean }> {
  const done = await deletePrefix(bucket, workspacePrefix(workspaceId), deadline);
  if (done.complete) await deleteJobState(db, `${DELETE_JOB_PREFIX}${workspaceId}`);
  return done;
}

/** Deletes whole `date=` partitions of a workspace older than its retention (every event in them is). */
async function expirePartitions(bucket: ArchiveBucket, workspaceId: string, retentionDays: number, now: number, deadline: number, out: ArchiveJobsResult): Promise<boolean> {
  const prefix = workspacePrefix(workspaceId);
  const firstKept = new Date(now - retentionDays * DAY_MS).toISOString().slice(0, 10);
  for (;;) {
    const page = await bucket.list({ prefix, delimiter: '/' });
    // Dates sort as their prefixes do: only the leading ones can be old.
    const old = page.delimitedPrefixes.filter((p) => p.slice(prefix.length + 'date='.length, -1) < firstKept);
    if (!old.length) return true;
    for (const datePrefix of old) {
      const done = await deletePrefix(bucket, datePrefix, deadline);
      out.objectsDeleted += done.deleted;
      if (!done.complete) return false;
      out.partitionsExpired++;
    }
    if (old.length < page.delimitedPrefixes.length || !page.truncated) return true;
  }
}

/** Scans each workspace's objects in key order (hour by hour) and compacts closed hours; resumable. */
async function compactWorkspaces(bucket: ArchiveBucket, db: D1Database, ids: readonly string[], now: number, deadline: number, out: ArchiveJobsResult): Promise<boolean> {
  const state = await readJobState<{ workspace: string; after?: string }>(db, COMPACTION_JOB);
  for (const id of ids) {
    if (state && id < state.workspace) continue;
    let after = state && id === state.workspace ? state.after : undefined;
    let hour: R2Object[] = [];
    let cursor: string | undefined;
    const handle = async () => {
      try {
        await compactListedHour(bucket, id, hour, now, out.compaction);
      } catch (err) {
        out.hourErrors++;
        console.warn('archive compaction: hour skipped', hour[0]?.key, err);
      }
      after = hour[hour.length - 1]!.key;
      hour = [];
    };
    const hourOf = (key: string) => key.slice(0, key.lastIndexOf('/'));
    do {
      const page = await bucket.list({ prefix: workspacePrefix(id), ...(cursor ? { cursor } : after ? { startAfter: after } : {}) });
      for (const object of page.objects) {
        if (hour.length && hourOf(object.key) !== hourOf(hour[0]!.key)) {
          await handle();
          if (Date.now() > deadline) {
            await writeJobState(db, COMPACTION_JOB, { workspace: id, after });
            return false;
          }
        }
        hour.push(object);
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    if (hour.length) await handle();
  }
  await deleteJobState(db, COMPACTION_JOB);
  return true;
}

/**
 * The archive's cron step, within its own time budget: deleted workspaces' objects first, then
 * retention (whole `date=` partitions past each workspace's retentionDays), then compaction of
 * closed hours (resumed where the last run stopped). Counts the R2 operations it made.
 */
export async function runArchiveJobs(archive: ArchiveBucket, db: D1Database, now = Date.now(), budgetMs = 20_000): Promise<ArchiveJobsResult> {
  const deadline = Date.now() + budgetMs;
  const ops = noOps();
  const bucket = countingBucket(archive, ops);
  const out: ArchiveJobsResult = {
    workspacesErased: 0, objectsDeleted: 0, partitionsExpired: 0, hourErrors: 0, ops, complete: false,
    compaction: { hoursCompacted: 0, partsMerged: 0, rowsWritten: 0, partsDeleted: 0 },
  };
  for (const name of await jobsNamed(db, DELETE_JOB_PREFIX)) {
    const done = await eraseWorkspaceArchive(bucket, db, name.slice(DELETE_JOB_PREFIX.length), deadline);
    out.objectsDeleted += done.deleted;
    if (!done.complete) return out;
    out.workspacesErased++;
  }
  const { results: workspaces } = await db.prepare(`SELECT id, retention_days FROM workspaces ORDER BY id`).all<{ id: string; retention_days: number }>();
  for (const ws of workspaces) {
    if (!(await expirePartitions(bucket, ws.id, ws.retention_days, now, deadline, out))) return out;
  }
  // A merge reads files before an erasure rewrites them and could put the user's rows back: wait for it.
  const { results: erasing } = await db.prepare(`SELECT DISTINCT workspace_id AS id FROM erasures WHERE status = 'pending'`).all<{ id: string }>();
  const skip = new Set(erasing.map((e) => e.id));
  out.complete = await compactWorkspaces(bucket, db, workspaces.map((w) => w.id).filter((id) => !skip.has(id)), now, deadline, out);
  return out;
}
