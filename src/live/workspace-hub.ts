import { DurableObject } from 'cloudflare:workers';
import { writeDrain } from '../history/drain-writer';
import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import type { IngestResult } from '../shared/events';
import { HubStore } from './hub-store';

/** Events per drain: large D1 batches, bounded so one drain stays well inside D1's limits. */
const DRAIN_MAX_EVENTS = 5_000;
/** Wait before a drain so that requests arriving together land in one D1 batch. */
const DRAIN_DELAY_MS = 500;
const BACKOFF_MAX_MS = 60_000;

export interface HubUsage {
  rowsWritten: number;
  d1RowsWritten: number;
  pendingBatches: number;
  drainFailures: number;
}

/**
 * One per workspace: the single writer of its live state. De-duplicates, makes each batch
 * durable in its outbox before answering, and drains the outbox to D1 from an alarm.
 */
export class WorkspaceHub extends DurableObject<Env> {
  private readonly store: HubStore;
  private workspace: WorkspaceRef | undefined;
  private drainFailures = 0;
  private d1RowsWritten = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.workspace = this.store.getMeta<WorkspaceRef>('workspace');
  }

  /** The whole request's batch in one call; answers once the accepted events are durable. */
  async ingest(workspace: WorkspaceRef, events: NormalizedEvent[]): Promise<IngestResult> {
    this.remember(workspace);
    const { accepted, duplicates } = this.store.admit(events, Date.now());
    if (accepted.length) await this.scheduleDrain(DRAIN_DELAY_MS);
    return { accepted: accepted.length, duplicates };
  }

  private remember(workspace: WorkspaceRef): void {
    const known = this.workspace;
    if (known && known.id === workspace.id && known.slug === workspace.slug && known.timezone === workspace.timezone) return;
    this.workspace = workspace;
    this.store.setMeta('workspace', workspace);
  }

  private async scheduleDrain(delayMs: number): Promise<void> {
    const at = await this.ctx.storage.getAlarm();
    const want = Date.now() + delayMs;
    if (at === null || at > want) await this.ctx.storage.setAlarm(want);
  }

  async alarm(): Promise<void> {
    const workspace = this.workspace;
    const batches = this.store.pending(DRAIN_MAX_EVENTS);
    if (!workspace || !batches.length) return;
    try {
      const { rowsWritten } = await writeDrain(this.env.DB, workspace, batches);
      this.d1RowsWritten += rowsWritten;
      this.store.remove(batches);
      this.drainFailures = 0;
    } catch (err) {
      // Nothing committed in D1; the batches stay in the outbox and are tried again later.
      this.drainFailures++;
      const delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** Math.min(this.drainFailures - 1, 6));
      console.warn(`drain of ${batches.length} batches failed (attempt ${this.drainFailures}), retrying in ${delay} ms:`, String(err));
      this.store.markAttempt(batches);
      await this.ctx.storage.setAlarm(Date.now() + delay);
      return;
    }
    if (this.store.pendingCount() > 0) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Counters for benchmarks and operations. */
  async usage(): Promise<HubUsage> {
    return {
      rowsWritten: this.store.rowsWritten,
      d1RowsWritten: this.d1RowsWritten,
      pendingBatches: this.store.pendingCount(),
      drainFailures: this.drainFailures,
    };
  }

  /** Drains everything now (tests and shutdown); returns how many batches are left. */
  async flush(): Promise<number> {
    while (this.store.pendingCount() > 0) {
      const before = this.drainFailures;
      await this.alarm();
      if (this.drainFailures > before) break;
    }
    return this.store.pendingCount();
  }

  /** Forgets everything: the workspace was deleted. */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
