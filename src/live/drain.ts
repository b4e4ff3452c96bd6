import type { ArchiveBucket } from '../archive';
import { writeConcurrency } from '../history/concurrency-rollups';
import { fenceDrain, isAlreadyDrained, probeDrain, writeDrain } from '../history/drain-writer';
import type { ConcurrencyRow } from './concurrency';
import type { WorkspaceRef } from '../ingest/types';
import type { DeadLetterRetry } from '../shared/dead-letters';
import { archiveSetKeys, deleteArchiveKeys, drainArchiveSets, writeArchiveSets } from './drain-archive';
import type { DrainPlan, HubStore } from './hub-store';

/** Events per drain: large D1 batches, bounded so one drain stays well inside D1's limits. */
const DRAIN_MAX_EVENTS = 5_000;
const BACKOFF_MAX_MS = 60_000;
/** Failed tries (not flagged transient) of a drain of several batches before its batches go one by one. */
const GROUP_TRIES = 2;
/** Failed tries of a batch alone before it is set aside (each time D1 took a probe drain right after). */
const SOLO_TRIES = 2;
/** Wait between tries of a batch alone: D1 has just proved it takes drains. */
const SOLO_RETRY_MS = 500;

/** The longest a step waits for the one before it. */
const STEP_WAIT_MS = 30_000;

/** Errors that say D1 (or the way to it) failed, not the batch: never a reason to set a batch aside. */
const TRANSIENT = /network|unavailable|reset|timed? ?out|timeout|overloaded|too many requests|connection|internal error/i;
export function isTransient(err: unknown): boolean {
  const flags = err as { retryable?: boolean; overloaded?: boolean } | undefined;
  return Boolean(flags?.retryable || flags?.overloaded) || TRANSIENT.test(String((err as Error)?.message ?? err));
}

/** What one step of the drain did: `failed` means it backed off (the alarm is set for the retry). */
export type DrainStep = 'idle' | 'drained' | 'isolated' | 'set-aside' | 'failed';

export interface DrainHost {
  store: HubStore;
  db: D1Database;
  /** The raw-event archive (`env.ARCHIVE`); a field, so a test can put a fault injector around it. */
  bucket: ArchiveBucket;
  workspace(): WorkspaceRef | undefined;
  /** Makes what the hub wrote durable (the drain's id must be before D1 can commit under it). */
  sync(): Promise<void>;
  /** Called before batches leave the outbox: the live snapshot must cover them (a restart replays only the outbox). */
  beforeRelease(): void;
  setAlarm(at: number): void;
  /** Closed concurrency minutes waiting for D1 (they ride along with a drain, or go alone when the outbox is empty). */
  concurrency?: { rows(): ConcurrencyRow[]; written(rows: ConcurrencyRow[]): void };
}

/**
 * The hub's outbox → the R2 archive and D1. Each drain first writes its archive objects, named by
 * its id (a retry overwrites them), then commits to D1, then leaves the outbox: a crash anywhere
 * repeats the same writes under the same id. An R2 failure only delays the drain. A drain that is
 * fenced (its batches go one by one) or set aside has its objects deleted before any further archive
 * write (the keys are recorded in the same transaction), so every event is in exactly one file.
 *
 * A drain that fails is retried with backoff; when a drain of several
 * batches keeps failing while D1 takes a probe drain, its batches go one by one under their own ids,
 * and a batch that D1 still refuses alone (the probe passing right after) is set aside as a dead
 * letter, so the batches behind it move on. When the probe fails too, D1 itself is down: everything
 * stays in the outbox and the drain backs off (at most 60 s). Every write is logged in drain_log
 * under an id the hub keeps, so nothing is lost or written twice.
 */
export class HubDrain {
  /** Failed drains in a row (0 once one succeeds). */
  failures = 0;
  d1RowsWritten = 0;
  /** Archive objects written (R2 puts), for cost figures. */
  archivePuts = 0;
  /**
   * Steps and retries run one at a time, so they do not repeat each other's work. (Safety does not
   * rest on it: a step that finishes a drain no longer in progress leaves the outbox alone.)
   */
  private running: Promise<unknown> = Promise.resolve();
  /** A drain carrying concurrency minutes failed: they are written on their own until that works again. */
  private concurrencyAlone = false;

  constructor(private readonly host: DrainHost) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // A D1 call that never settles must not stop every later drain (the timer is cleared at once when none does).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const prev = Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, STEP_WAIT_MS)))]).finally(() => clearTimeout(timer));
    const run = prev.then(fn, fn);
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` between drain steps (erasure): a step in flight finishes first, and none starts until it is done. */
  between<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(fn);
  }

  /** One step, and the alarm for the next when batches wait (the alarm handler). */
  async run(): Promise<void> {
    const step = await this.exclusive(() => this.step());
    const store = this.host.store;
    if (step !== 'failed' && step !== 'idle' && (this.hasWork() || store.archiveDeletes.pending().length)) this.host.setAlarm(Date.now());
  }

  /** Drains until the outbox is empty or a drain fails; returns how many batches are left. */
  async flush(): Promise<number> {
    while (this.hasWork()) {
      const step = await this.exclusive(() => this.step());
      if (step === 'failed' || step === 'idle') break;
    }
    return this.host.store.pendingCount();
  }

  /** Outbox batches, or closed concurrency minutes, wait for D1. */
  private hasWork(): boolean {
    return this.host.store.hasPending() || (this.host.concurrency?.rows().length ?? 0) > 0;
  }

  private async step(): Promise<DrainStep> {
    const { store, db } = this.host;
    const workspace = this.host.workspace();
    if (!workspace) return 'idle';
    try {
      await this.cleanArchive();
    } catch (err) {
      return this.backoff('archive cleanup', err);
    }
    const plan = store.planDrain(DRAIN_MAX_EVENTS);
    const pending = this.host.concurrency?.rows() ?? [];
    if (!plan) return pending.length ? this.writeConcurrency(workspace, pending) : 'idle';
    // After a drain with them failed, they go alone: they must never make a sound batch look poisoned.
    const concurrency = this.concurrencyAlone ? [] : pending;
    const archive = drainArchiveSets(plan);
    try {
      // The drain id is durable before any write is named by it (a crash must not orphan objects under a lost id).
      await this.host.sync();
      this.archivePuts += await writeArchiveSets(this.host.bucket, workspace.id, archive);
    } catch (err) {
      // R2 (or storage) failed, not the batches: never a reason to set them apart.
      return this.backoff(drainLabel(plan), err);
    }
    try {
      const { rowsWritten, fenced, concurrencyWritten } = await writeDrain(db, workspace, plan.batches, Date.now(), plan.perBatch ? undefined : plan.id, concurrency);
      this.d1RowsWritten += rowsWritten;
      if (concurrencyWritten) this.host.concurrency?.written(concurrency);
      // Fenced before (the hub died or lost the answer before it set the batches apart): nothing of it is in D1.
      if (fenced) return this.isolate(workspace, plan, 'fenced before');
      this.host.beforeRelease();
      store.finishDrain(plan);
      this.failures = 0;
      if (this.concurrencyAlone && pending.length) await this.writeConcurrency(workspace, pending, false);
      return 'drained';
    } catch (err) {
      // Nothing committed in D1; the batches stay in the outbox under the same drain id.
      if (concurrency.length) this.concurrencyAlone = true;
      store.markAttempt(plan.batches);
      return this.failed(workspace, plan, err);
    }
  }

  /**
   * Concurrency minutes alone (nobody sent an event while people stayed present, or they failed with
   * a drain); a failure only delays them, and never holds the outbox (`backoff` false: the next alarm retries).
   */
  private async writeConcurrency(workspace: WorkspaceRef, rows: ConcurrencyRow[], backoff = true): Promise<DrainStep> {
    try {
      this.d1RowsWritten += await writeConcurrency(this.host.db, workspace, rows);
    } catch (err) {
      if (backoff) return this.backoff('concurrency rollups', err);
      console.warn('concurrency rollups failed, retried with the next drain:', errorText(err));
      return 'failed';
    }
    this.host.concurrency?.written(rows);
    this.concurrencyAlone = false;
    return 'drained';
  }

  /** After a failed write: back off, or set the batches apart, or set one aside. */
  private async failed(workspace: WorkspaceRef, plan: DrainPlan, err: unknown): Promise<DrainStep> {
    const { store, db } = this.host;
    if (isTransient(err)) return this.backoff(drainLabel(plan), err);
    const tries = store.recordFailure(plan, Date.now());
    if (tries < (plan.solo ? SOLO_TRIES : GROUP_TRIES)) return this.backoff(drainLabel(plan), err, plan.solo ? SOLO_RETRY_MS : undefined);
    try {
      await probeDrain(db, workspace);
    } catch (probeErr) {
      // D1 refuses an ordinary drain too: it is down (or broken for everyone), not this batch.
      return this.backoff(drainLabel(plan), probeErr);
    }
    if (plan.batches.length === 1) {
      this.host.beforeRelease();
      store.setAside(plan, errorText(err), Date.now(), archiveSetKeys(workspace.id, drainArchiveSets(plan)));
      console.warn(`drain: batch ${plan.id} (${plan.batches[0].events.length} events) set aside as a dead letter:`, errorText(err));
      await this.cleanArchiveSoon();
      return 'set-aside';
    }
    try {
      await fenceDrain(db, workspace, plan.id);
    } catch (fenceErr) {
      if (!isAlreadyDrained(fenceErr)) return this.backoff(drainLabel(plan), fenceErr);
      // The drain had committed after all (its answer was lost): its batches are in D1, its objects in the archive.
      this.host.beforeRelease();
      store.finishDrain(plan);
      return 'drained';
    }
    return this.isolate(workspace, plan, `failed ${plan.failures} times while D1 takes drains`, err);
  }

  /** The drain is fenced in D1: its batches go one by one, after its archive objects are deleted. */
  private async isolate(workspace: WorkspaceRef, plan: DrainPlan, why: string, err?: unknown): Promise<DrainStep> {
    this.host.store.isolate(plan, Date.now(), archiveSetKeys(workspace.id, drainArchiveSets(plan)));
    await this.cleanArchiveSoon();
    console.warn(`drain of ${plan.batches.length} batches ${why}; draining them one by one:`, err === undefined ? '' : errorText(err));
    return 'isolated';
  }

  private backoff(what: string, err: unknown, delay?: number): DrainStep {
    this.failures++;
    const wait = delay ?? Math.min(BACKOFF_MAX_MS, 1000 * 2 ** Math.min(this.failures - 1, 6));
    console.warn(`${what} failed (attempt ${this.failures}), retrying in ${wait} ms:`, errorText(err));
    this.host.setAlarm(Date.now() + wait);
    return 'failed';
  }

  /** Deletes the archive objects recorded for deletion; throws when R2 fails (they stay recorded). */
  private async cleanArchive(): Promise<void> {
    const keys = this.host.store.archiveDeletes.pending();
    if (!keys.length) return;
    await deleteArchiveKeys(this.host.bucket, keys);
    this.host.store.archiveDeletes.drop(keys);
  }

  /** Right after recording deletions; when R2 fails, the next step (the alarm is set) deletes them before anything else. */
  private async cleanArchiveSoon(): Promise<void> {
    try {
      await this.cleanArchive();
    } catch (err) {
      console.warn('archive cleanup failed, retried with the next drain:', errorText(err));
      this.host.setAlarm(Date.now() + 1000);
    }
  }

  /** Writes a dead letter to D1 now, under its batch id (so never twice); undefined when there is no such dead letter. */
  retry(id: string): Promise<DeadLetterRetry | undefined> {
    return this.exclusive(async () => {
      const { store, db } = this.host;
      const events = store.deadLetters.events(id);
      const workspace = this.host.workspace();
      if (!events || !workspace) return undefined;
      const sets = [{ name: id, events }];
      const keys = archiveSetKeys(workspace.id, sets);
      try {
        // Deletions recorded earlier go first (they may name this dead letter's keys).
        await this.cleanArchive();
        // Recorded for deletion until D1 commits: a crash or a failure in between leaves no copy of a dead letter.
        store.archiveDeletes.add(keys);
        await this.host.sync();
        this.archivePuts += await writeArchiveSets(this.host.bucket, workspace.id, sets);
        const { rowsWritten } = await writeDrain(db, workspace, [{ batchId: id, events }], Date.now(), id);
        this.d1RowsWritten += rowsWritten;
      } catch (err) {
        store.deadLetters.failedAgain(id, errorText(err), Date.now());
        await this.cleanArchiveSoon();
        return { retried: true, result: 'failed', error: errorText(err) };
      }
      store.deadLetterDrained(id, keys);
      return { retried: true, result: 'drained' };
    });
  }

  /** Drops a dead letter for good; false when there is no such dead letter. */
  drop(id: string): Promise<boolean> {
    return this.exclusive(async () => this.host.store.deadLetters.remove(id));
  }
}

const errorText = (err: unknown) => String((err as Error)?.message ?? err);
const drainLabel = (plan: DrainPlan) => `drain of ${plan.batches.length} batches`;
