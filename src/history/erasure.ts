import { workspacePrefix, type ArchiveBucket } from '../archive';
import { eraseUserFromObject } from '../archive/erase';
import type { WorkspaceRef } from '../ingest/types';
import { workspaceHub } from '../live/hubs';
import type { Erasure } from '../shared/erasures';
import { deleteFirstSeen } from './first-seen';
import { db as drizzle, findWorkspaceById, toRef } from './workspaces';

/** Time a DELETE's own run may take (inside the 30 s a Worker keeps running after answering). */
export const ERASURE_REQUEST_BUDGET_MS = 20_000;
/** Time the cron gives erasures, after retention: rewriting is CPU (≈6 s for a 100,000-row file), kept inside the default 30 s CPU limit. */
export const ERASURE_CRON_BUDGET_MS = 25_000;
/** A run holds its erasure this long past its budget; a run that died lets the next one in after that. */
const LEASE_MARGIN_MS = 30_000;
/** Objects listed per R2 list call (R2's maximum). */
const LIST_PAGE = 1_000;
/** Legacy D1 rows deleted per statement: bounded, so no single write holds D1 long. */
const LEGACY_CHUNK = 5_000;
/** Tries of one object that keeps changing under the rewrite (a drain retry, compaction). */
const OBJECT_TRIES = 3;
/** Objects put this close before the archive pass began are swept again (clock skew between R2 and the Worker). */
const SWEEP_SLACK_MS = 60_000;

/**
 * The steps, in order: the hub first (no drain holding the user is written after it), then the
 * legacy D1 table (the migration can move no more of the user's rows), the per-user rollups and first-seen row, every
 * archive object, and a sweep of the objects put since the archive pass began (a drain or
 * compaction that read a file before it was rewritten).
 */
type Phase = 'hub' | 'legacy' | 'rollups' | 'archive' | 'sweep';

interface Progress {
  phase: Phase;
  /** The last archive key done in this pass (R2 lists keys in order). */
  after?: string;
  /** When the archive pass began (epoch ms). */
  archiveFrom?: number;
  /** Held by a run until then (epoch ms). */
  leaseUntil?: number;
}

interface ErasureRow {
  id: string;
  workspace_id: string;
  user_id: string;
  status: 'pending' | 'done';
  events_erased: number;
  progress: string | null;
  requested_at: number;
  done_at: number | null;
}

export function toErasure(row: ErasureRow): Erasure {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    eventsErased: row.events_erased,
    requestedAt: new Date(row.requested_at).toISOString(),
    doneAt: row.done_at === null ? null : new Date(row.done_at).toISOString(),
  };
}

/** The pending erasure of the user, or a new one: a repeated DELETE while one is pending gets the same. */
export async function requestErasure(d1: D1Database, workspaceId: string, userId: string, now = Date.now()): Promise<{ row: ErasureRow; created: boolean }> {
  const id = crypto.randomUUID();
  await d1
    .prepare(
      `INSERT INTO erasures (id, workspace_id, user_id, status, events_erased, progress, requested_at)
       SELECT ?1, ?2, ?3, 'pending', 0, NULL, ?4
       WHERE NOT EXISTS (SELECT 1 FROM erasures WHERE workspace_id = ?2 AND user_id = ?3 AND status = 'pending')`,
    )
    .bind(id, workspaceId, userId, now)
    .run();
  const row = await d1
    .prepare(`SELECT * FROM erasures WHERE workspace_id = ? AND user_id = ? AND status = 'pending' ORDER BY requested_at LIMIT 1`)
    .bind(workspaceId, userId)
    .first<ErasureRow>();
  // Finished between the two statements (only when it was pending already): answer with it.
  const found = row ?? (await getErasure(d1, workspaceId, id));
  if (!found) throw new Error(`erasure of ${userId} vanished`);
  return { row: found, created: found.id === id };
}

export function getErasure(d1: D1Database, workspaceId: string, id: string): Promise<ErasureRow | null> {
  return d1.prepare(`SELECT * FROM erasures WHERE id = ? AND workspace_id = ?`).bind(id, workspaceId).first<ErasureRow>();
}

export interface ErasureEnv {
  DB: D1Database;
  ARCHIVE: ArchiveBucket;
  WORKSPACE_HUB: Env['WORKSPACE_HUB'];
  ROOM_HUB: Env['ROOM_HUB'];
}

/** How a run ended: `busy` when another run holds the erasure, or another erasure of the workspace. */
export type RunOutcome = 'done' | 'pending' | 'busy';

/**
 * Continues one erasure for at most `budgetMs` (at least one step is always taken, so every run
 * advances), saving its progress in the erasures row: a run cut off anywhere is continued by the next.
 */
export async function runErasure(env: ErasureEnv, id: string, budgetMs: number): Promise<RunOutcome> {
  const started = Date.now();
  const deadline = started + budgetMs;
  const claimed = await env.DB.prepare(
    // One run per workspace at a time: runs of two users would rewrite the same files against each other.
    `UPDATE erasures SET progress = json_set(coalesce(progress, '{"phase":"hub"}'), '$.leaseUntil', ?1)
     WHERE id = ?2 AND status = 'pending' AND coalesce(progress ->> '$.leaseUntil', 0) < ?3
       AND NOT EXISTS (SELECT 1 FROM erasures o WHERE o.workspace_id = erasures.workspace_id AND o.id != erasures.id
                       AND o.status = 'pending' AND coalesce(o.progress ->> '$.leaseUntil', 0) >= ?3)
     RETURNING *`,
  )
    .bind(deadline + LEASE_MARGIN_MS, id, started)
    .first<ErasureRow>();
  if (!claimed) {
    const row = await env.DB.prepare(`SELECT status FROM erasures WHERE id = ?`).bind(id).first<{ status: string }>();
    return row?.status === 'pending' ? 'busy' : 'done';
  }
  const job = new ErasureRun(env, claimed, deadline);
  return job.run();
}

/** Continues pending erasures, oldest first, until the budget is spent (the cron). */
export async function continueErasures(env: ErasureEnv, budgetMs = ERASURE_CRON_BUDGET_MS): Promise<{ done: number; pending: number }> {
  const deadline = Date.now() + budgetMs;
  const { results } = await env.DB.prepare(`SELECT id FROM erasures WHERE status = 'pending' ORDER BY requested_at LIMIT 100`).all<{ id: string }>();
  let done = 0;
  const failures: unknown[] = [];
  for (const { id } of results) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      if ((await runErasure(env, id, left)) === 'done') done++;
    } catch (err) {
      // One erasure failing (R2 down, a broken file) does not hold up the others; the run still fails.
      console.warn(`erasure ${id} failed; the next run continues it:`, String((err as Error)?.message ?? err));
      failures.push(err);
    }
  }
  if (failures.length) throw new AggregateError(failures, `${failures.length} erasure(s) failed`);
  return { done, pending: results.length - done };
}

class ErasureRun {
  private progress: Progress;
  private finished = false;
  /** Steps taken in this run: the budget is checked only after the first. */
  private steps = 0;

  constructor(
    private readonly env: ErasureEnv,
    private readonly row: ErasureRow,
    private readonly deadline: number,
  ) {
    this.progress = JSON.parse(row.progress ?? '{"phase":"hub"}') as Progress;
  }

  private get outOfTime(): boolean {
    return this.steps > 0 && Date.now() > this.deadline;
  }

  /** Saves the progress (and rows erased since the last save) and gives the lease back when the run ends. */
  private async save(erased: number, release = false): Promise<void> {
    const progress: Progress = { ...this.progress, leaseUntil: release ? 0 : this.progress.leaseUntil };
    await this.env.DB.prepare(`UPDATE erasures SET progress = ?, events_erased = events_erased + ? WHERE id = ?`)
      .bind(JSON.stringify(progress), erased, this.row.id)
      .run();
  }

  private async next(phase: Phase, erased = 0, extra: Partial<Progress> = {}): Promise<void> {
    this.progress = { ...this.progress, phase, after: undefined, ...extra };
    this.steps++;
    await this.save(erased);
  }

  async run(): Promise<RunOutcome> {
    const workspace = await findWorkspaceById(drizzle(this.env.DB), this.row.workspace_id);
    // The workspace was deleted with everything it held: nothing of the user is left.
    if (!workspace) return this.finish();
    const ref = toRef(workspace);
    const user = this.row.user_id;
    try {
      if (this.progress.phase === 'hub') {
        const erased = await workspaceHub(this.env as Env, ref.id).eraseUser(ref, user);
        await this.next('legacy', erased.events);
      }
      if (this.progress.phase === 'legacy' && !this.outOfTime) {
        if (await this.eraseLegacy(ref, user)) await this.next('rollups');
      }
      if (this.progress.phase === 'rollups' && !this.outOfTime) {
        await this.env.DB.batch([
          this.env.DB.prepare(`DELETE FROM user_rollups WHERE workspace_id = ? AND user_id = ?`).bind(ref.id, user),
          deleteFirstSeen(this.env.DB, ref.id, user),
        ]);
        await this.next('archive', 0, { archiveFrom: Date.now() });
      }
      if (this.progress.phase === 'archive' && !this.outOfTime) {
        if (await this.eraseArchive(ref, user, 0)) await this.next('sweep');
      }
      if (this.progress.phase === 'sweep' && !this.outOfTime) {
        if (await this.eraseArchive(ref, user, (this.progress.archiveFrom ?? 0) - SWEEP_SLACK_MS)) return this.finish();
      }
    } finally {
      // The lease goes back with the progress, so the cron need not wait for it to run out.
      if (!this.finished) await this.save(0, true).catch(() => undefined);
    }
    return 'pending';
  }

  private async finish(): Promise<RunOutcome> {
    this.finished = true;
    await this.env.DB.prepare(`UPDATE erasures SET status = 'done', done_at = ?, progress = NULL WHERE id = ?`).bind(Date.now(), this.row.id).run();
    return 'done';
  }

  /** The user's rows of the D1 events table from before the archive, while that table exists; true when none is left. */
  private async eraseLegacy(ref: WorkspaceRef, user: string): Promise<boolean> {
    const table = await this.env.DB.prepare(`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'events'`).first();
    if (!table) return true;
    for (;;) {
      const res = await this.env.DB.prepare(
        `DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE workspace_id = ? AND user_id = ? LIMIT ${LEGACY_CHUNK})`,
      )
        .bind(ref.id, user)
        .run();
      this.steps++;
      if ((res.meta.changes ?? 0) < LEGACY_CHUNK) return true;
      if (this.outOfTime) return false;
    }
  }

  /**
   * Every archive object of the workspace put at or after `since` (epoch ms; 0: all), in key order
   * from where the last run stopped, rewritten without the user; true when the pass is complete.
   */
  private async eraseArchive(ref: WorkspaceRef, user: string, since: number): Promise<boolean> {
    const bucket = this.env.ARCHIVE;
    for (;;) {
      // With their metadata: each object is read (pinned to the etag listed) and rewritten without a HEAD.
      const page = await bucket.list({ prefix: workspacePrefix(ref.id), startAfter: this.progress.after, limit: LIST_PAGE, include: ['httpMetadata', 'customMetadata'] } as R2ListOptions);
      for (const object of page.objects) {
        if (this.outOfTime) {
          await this.save(0);
          return false;
        }
        const removed = object.uploaded.getTime() >= since ? await this.eraseObject(object, user) : 0;
        this.progress.after = object.key;
        this.steps++;
        // Saved with the key it came from: a run cut off after this counts none of them twice or never.
        if (removed) await this.save(removed);
      }
      await this.save(0);
      if (!page.truncated) return true;
    }
  }

  /** Rows removed from one object (tried again when it changed while it was read). */
  private async eraseObject(object: R2Object, user: string): Promise<number> {
    const key = object.key;
    for (let attempt = 1; ; attempt++) {
      // Tried again from a fresh HEAD: the listed version is gone.
      const result = await eraseUserFromObject(this.env.ARCHIVE, key, user, attempt === 1 ? object : undefined);
      if (result.outcome === 'rewritten') return result.removed;
      if (result.outcome !== 'changed') return 0;
      if (attempt >= OBJECT_TRIES) throw new Error(`erasure: ${key} kept changing while it was rewritten`);
    }
  }
}
