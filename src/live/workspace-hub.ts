import { DurableObject } from 'cloudflare:workers';
import type { HubRule } from '../alerts/alert-jobs';
import type { RuleState } from '../alerts/evaluate';
import type { DeliveryJob } from '../alerts/delivery-job';
import type { ArchiveRow } from '../archive';
import { refChanged, type NormalizedEvent, type WorkspaceRef } from '../ingest/types';
import type { Delivery } from '../shared/alerts';
import type { DeadLetterList, DeadLetterRetry } from '../shared/dead-letters';
import type { IngestResult } from '../shared/events';
import { LIMITS } from '../shared/limits';
import type { LiveSnapshot, Stats } from '../shared/live';
import { HubDrain } from './drain';
import { eraseFromHubStorage, type HubErasure } from './erase-user';
import { answerSocket, closeSocket } from './fanout';
import { GroupCommit } from './group-commit';
import { HubAlerting } from './hub-alerting';
import { HubStore } from './hub-store';
import { readOutbox, type OutboxQuery } from './outbox-read';
import { HubRooms } from './hub-rooms';
import { type RateLimited, TokenBucket } from './rate-limit';
import { WorkspaceLive } from './workspace-live';
import { scrapeLive } from './scrape-live';
import { WORKSPACE_HEADER, type HubScrape, type HubUsage } from './hub-types';

export { WORKSPACE_HEADER, type HubScrape, type HubUsage };

/** Wait before a drain so that requests arriving together land in one D1 batch (well inside the 5 s to history). */
const DRAIN_DELAY_MS = 2_000;


/**
 * One per workspace: the single writer of its live state. De-duplicates, makes each batch
 * durable in its outbox before answering, keeps the live counters and presence, fans out to its
 * subscribers and room hubs, and drains the outbox to D1 from an alarm.
 */
export class WorkspaceHub extends DurableObject<Env> {
  private readonly store: HubStore;
  private readonly live: WorkspaceLive;
  private workspace: WorkspaceRef | undefined;
  private readonly drain: HubDrain;
  private readonly commits = new GroupCommit<NormalizedEvent[], IngestResult>(
    (requests) => this.commitGroup(requests),
    () => this.ctx.storage.sync(),
  );
  /** The alarm time set in storage (null: none), read once at start. */
  private alarmAt: number | null = null;
  /** Test-only fixed clock for the live windows (set through `setClockForTest`). */
  private fixedNow: number | null = null;
  /** Ingestion rate limit, counted in events (duplicates too); in memory, so a restart refills it. */
  private readonly rateLimit = new TokenBucket();
  /** Alert rules with their windows and state, and the outgoing webhooks (transitions, scheduled reports) retried from the alarm. */
  private readonly alerting: HubAlerting;
  /** Calls to the RoomHubs of the workspace's rooms. */
  private readonly rooms = new HubRooms(this.ctx, this.env, () => this.fixedNow);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.workspace = this.store.getMeta<WorkspaceRef>('workspace');
    this.live = new WorkspaceLive(
      ctx,
      () => this.workspace,
      () => this.now(),
      (after) => this.store.batchesAfter(after),
      (rooms) => this.workspace && this.rooms.tell(this.workspace, rooms),
    );
    this.store.seqFloor = this.live.seq;
    this.alerting = new HubAlerting({
      ctx,
      env,
      now: () => this.now(),
      workspace: () => this.workspace,
      live: () => this.live.numbers(),
      replay: (after) => this.store.batchesAfter(after),
      onFiringChanged: () => this.live.fanout.changed(),
      scheduleAlarm: (at) => this.scheduleAlarm(at),
    });
    this.live.firingAlerts = () => this.alerting.firing();
    this.drain = new HubDrain({
      store: this.store,
      db: env.DB,
      bucket: env.ARCHIVE,
      workspace: () => this.workspace,
      sync: () => ctx.storage.sync(),
      beforeRelease: () => {
        this.live.saveIfDue(true);
        this.alerting.saveIfDue(true);
      },
      setAlarm: (at) => this.setAlarm(at),
      concurrency: { rows: () => this.live.presence.concurrency.pendingRows(), written: (rows) => this.live.presence.concurrency.written(rows) },
    });
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
      // Archive objects left to delete by a crash (a dead letter's retry cut short): the alarm deletes them.
      if (this.alarmAt === null && this.store.archiveDeletes.pending().length) this.setAlarm(Date.now());
      this.alerting.armAtStart();
    });
  }

  private now(): number {
    return this.fixedNow ?? Date.now();
  }

  /**
   * The whole request's batch in one call; answers once the accepted events are durable, or at once
   * with how long to wait when it is over the workspace's rate limit (then nothing of it is stored).
   */
  async ingest(workspace: WorkspaceRef, events: NormalizedEvent[]): Promise<IngestResult | RateLimited> {
    const eventsPerSecond = workspace.eventsPerSecond ?? LIMITS.defaultEventsPerSecond;
    const allowed = this.rateLimit.take(events.length, eventsPerSecond);
    if (!allowed.ok) return { rateLimited: { retryAfterSeconds: allowed.retryAfterSeconds, eventsPerSecond } };
    this.remember(workspace);
    try {
      return await this.commits.submit(events);
    } catch (err) {
      this.rateLimit.refund(events.length);
      throw err;
    }
  }

  /** One group commit's writes, in one transaction: de-dup records, the outbox, the live state. */
  private commitGroup(requests: NormalizedEvent[][]): IngestResult[] {
    let touched: ReturnType<WorkspaceLive['apply']> | undefined;
    let all: NormalizedEvent[] = [];
    const results = this.store.admitGroup(requests, Date.now(), (batch, seq) => {
      // Same transaction as the outbox row: the live snapshot never runs ahead of what is durable.
      all = batch;
      touched = this.live.apply(batch, seq);
      this.live.saveIfDue();
      this.alerting.apply(batch, seq);
    });
    const workspace = this.workspace;
    if (all.length && touched && workspace) {
      this.live.fanout.publish(touched.live);
      this.rooms.push(workspace, all, touched.rooms, (room) => this.live.presence.view(room));
      this.scheduleAlarm(Date.now() + DRAIN_DELAY_MS);
      this.alerting.evaluate(false);
    }
    return results.map((r) => ({ accepted: r.accepted.length, duplicates: r.duplicates }));
  }

  private remember(workspace: WorkspaceRef): void {
    const known = this.workspace;
    if (!refChanged(known, workspace)) return;
    this.workspace = workspace;
    this.live.setTimezone(workspace.timezone);
    this.store.setMeta('workspace', workspace);
  }

  /** Moves the alarm earlier to `at` if it is later or unset; the time set is kept in memory, so most calls touch no storage. */
  private scheduleAlarm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.setAlarm(at);
  }

  private setAlarm(at: number): void {
    this.alarmAt = at;
    // Not awaited: the output gate holds every answer until the alarm write is durable too.
    void this.ctx.storage.setAlarm(at);
  }

  async alarm(): Promise<void> {
    this.alarmAt = null; // a running alarm is no longer set
    this.alerting.startDeliveries();
    this.live.expire();
    this.live.closeMinutes();
    await this.drain.run();
    const evaluateAt = await this.alerting.onAlarm(this.fixedNow !== null);
    const nextLive = [this.live.fanout.periodic(), this.live.nextExpiryAt(), this.live.nextMinuteCloseAt(), evaluateAt].filter((t): t is number => t !== null);
    if (nextLive.length) this.scheduleAlarm(Math.min(...nextLive));
  }

  /** The workspace's alert rules as D1 has them now (the routes call this after every change). */
  async setAlertRules(workspace: WorkspaceRef, rules: HubRule[]): Promise<void> {
    this.remember(workspace);
    this.alerting.setRules(rules);
    this.live.fanout.changed();
  }

  /** Test only: a rule's evaluation state in this hub. */
  async alertStateForTest(id: string): Promise<RuleState | undefined> {
    return this.alerting.stateOf(id);
  }

  /** Queues signed POSTs (idempotent by webhook-id) and has the alarm send them now. */
  async enqueueDeliveries(workspace: WorkspaceRef, jobs: DeliveryJob[]): Promise<void> {
    this.remember(workspace);
    this.alerting.enqueue(jobs);
  }

  /** The deliveries of a rule or schedule, newest first. */
  async listDeliveries(workspace: WorkspaceRef, ownerId: string): Promise<Delivery[]> {
    this.remember(workspace);
    return this.alerting.list(ownerId);
  }

  /** A rule or schedule was deleted: its deliveries (pending ones too) go with it. */
  async forgetDeliveries(workspace: WorkspaceRef, ownerId: string): Promise<void> {
    this.remember(workspace);
    this.alerting.forget(ownerId);
  }

  /** A live subscriber (WebSocket upgrade or SSE); the Worker has authenticated it already. */
  async fetch(request: Request): Promise<Response> {
    const ref = JSON.parse(request.headers.get(WORKSPACE_HEADER) ?? 'null') as WorkspaceRef | null;
    if (ref) this.remember(ref);
    const response = this.live.fanout.connect(request, { workspace: this.workspace?.slug ?? '' });
    const next = this.live.fanout.nextDue();
    if (next !== null) this.scheduleAlarm(next);
    return response;
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    answerSocket(ws, message);
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeSocket(ws, code);
  }

  /** The JSON snapshot of the live routes. */
  async liveSnapshot(workspace: WorkspaceRef): Promise<LiveSnapshot> {
    this.remember(workspace);
    return this.live.snapshot();
  }

  /** What /metrics shows of this hub, in one call: live gauges and the health of the drain to D1. */
  async scrape(workspace: WorkspaceRef): Promise<HubScrape> {
    this.remember(workspace);
    const snap = this.live.snapshot();
    const backlog = this.store.backlog();
    return {
      onlineUsers: snap.data.onlineUsers,
      connections: snap.meta.connections,
      outboxBatches: backlog.batches,
      outboxLagSeconds: backlog.oldestAt === null ? 0 : Math.max(0, (Date.now() - backlog.oldestAt) / 1000),
      drainFailures: this.drain.failures,
      deadLetterBatches: this.store.deadLetters.count(),
      live: scrapeLive(snap.data),
    };
  }

  /** The batches set aside by the drain (the oldest first), and how many there are. */
  async deadLetters(workspace: WorkspaceRef): Promise<DeadLetterList> {
    this.remember(workspace);
    return { deadLetters: this.store.deadLetters.list(), total: this.store.deadLetters.count() };
  }

  /** Writes a dead letter to history now; undefined when there is no such dead letter. */
  async retryDeadLetter(workspace: WorkspaceRef, id: string): Promise<DeadLetterRetry | undefined> {
    this.remember(workspace);
    return this.drain.retry(id);
  }

  /** Drops a dead letter's events for good; false when there is no such dead letter. */
  async dropDeadLetter(workspace: WorkspaceRef, id: string): Promise<boolean> {
    this.remember(workspace);
    return this.drain.drop(id);
  }

  /** Acknowledged events not yet drained that fall in a raw question's scope (the archive has the rest). */
  async outboxEvents(query: OutboxQuery): Promise<Partial<ArchiveRow>[]> {
    return readOutbox(this.ctx.storage.sql, query);
  }

  /** Erasure: the user's events leave the outbox, dead letters and live lists (here, in rooms), between drain steps. */
  async eraseUser(workspace: WorkspaceRef, userId: string): Promise<HubErasure> {
    this.remember(workspace);
    const erased = await this.drain.between(async () => eraseFromHubStorage(this.ctx.storage.sql, (fn) => this.ctx.storage.transactionSync(fn), userId));
    const rooms = new Set([...erased.rooms, ...this.live.eraseUser(userId), ...this.live.watchedRooms]);
    await this.rooms.eraseUser(workspace.id, rooms, userId);
    return erased;
  }

  /** Current stats (tests, the dashboard's first paint). */
  async liveStats(): Promise<Stats> {
    return this.live.stats();
  }

  /** A RoomHub got subscribers: DELETE …/live will close them too. */
  async roomWatched(room: string): Promise<void> {
    this.live.watchRoom(room);
  }

  /** Closes every live connection of the workspace and its rooms; returns how many. */
  async closeLive(workspaceId: string | undefined = this.workspace?.id): Promise<number> {
    let closed = this.live.fanout.closeAll();
    // The caller names the workspace: a hub that only ever heard from its rooms does not know it.
    if (workspaceId) {
      closed += await this.rooms.close(workspaceId, this.live.watchedRooms);
    }
    return closed;
  }

  /** A key was revoked: closes the live connections it opened here and in the watched rooms; returns how many. */
  async closeKeyLive(workspaceId: string, keyId: string): Promise<number> {
    // The workspace comes with the call: a hub that only ever heard from its rooms does not know it.
    return this.live.fanout.closeKey(keyId) + (await this.rooms.close(workspaceId, this.live.watchedRooms, keyId));
  }

  /** Test only: fixes the live clock at `now` (epoch ms), or back to real time with null. */
  async setClockForTest(now: number | null): Promise<void> {
    this.fixedNow = now;
  }

  /** Test only: runs the periodic live work now (presence timeouts). */
  async tickForTest(): Promise<void> {
    this.live.expire();
    this.live.closeMinutes();
    await this.alerting.tick();
  }

  /** Counters for benchmarks and operations. */
  async usage(): Promise<HubUsage> {
    return {
      rowsWritten: this.store.rowsWritten + this.live.rowsWritten,
      d1RowsWritten: this.drain.d1RowsWritten,
      archivePuts: this.drain.archivePuts,
      pendingBatches: this.store.pendingCount(),
      drainFailures: this.drain.failures,
    };
  }

  /** Drains everything now (tests and shutdown); returns how many batches are left. */
  async flush(): Promise<number> {
    return this.drain.flush();
  }

  /** Forgets everything: the workspace was deleted. */
  async destroy(): Promise<void> {
    await this.closeLive().catch(() => 0);
    this.live.reset();
    await this.ctx.storage.deleteAlarm();
    this.alarmAt = null;
    await this.ctx.storage.deleteAll();
    // The object outlives deleteAll: a late call must find empty tables, not a stale workspace.
    this.store.open();
    this.alerting.reset();
    this.workspace = undefined;
  }
}
