import { DurableObject } from 'cloudflare:workers';
import type { HubRule } from '../alerts/alert-jobs';
import type { RuleState } from '../alerts/evaluate';
import { HubAlerts } from '../alerts/hub-alerts';
import type { DeliveryJob } from '../alerts/delivery-job';
import { DeliveryQueue, deliveryBackoffFromEnv } from '../alerts/delivery-queue';
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
import { HubStore } from './hub-store';
import { readOutbox, type OutboxQuery } from './outbox-read';
import { roomHub } from './hubs';
import type { RoomPresence } from './presence';
import { type RateLimited, TokenBucket } from './rate-limit';
import { WorkspaceLive } from './workspace-live';

/** Wait before a drain so that requests arriving together land in one D1 batch (well inside the 5 s to history). */
const DRAIN_DELAY_MS = 2_000;

export interface HubUsage {
  rowsWritten: number;
  d1RowsWritten: number;
  /** Objects written to the R2 archive since the hub started. */
  archivePuts: number;
  pendingBatches: number;
  drainFailures: number;
}

export interface HubScrape {
  onlineUsers: number;
  connections: number;
  /** Batches acknowledged but not yet in D1, and how long the oldest has waited. */
  outboxBatches: number;
  outboxLagSeconds: number;
  /** Failed drains in a row (0 once one succeeds). */
  drainFailures: number;
  /** Batches set aside because D1 refused them (GET …/dead-letters). */
  deadLetterBatches: number;
}

/** Header carrying the workspace (trusted: only the Worker reaches a hub's fetch). */
export const WORKSPACE_HEADER = 'x-edgepulse-workspace';

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
  /** Alert rules, their windows and state (src/alerts/hub-alerts.ts). */
  private readonly alerts: HubAlerts;
  /** Outgoing webhooks (alert transitions, scheduled reports), retried from the alarm. */
  readonly deliveries: DeliveryQueue;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HubStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.workspace = this.store.getMeta<WorkspaceRef>('workspace');
    this.live = new WorkspaceLive(
      ctx,
      () => this.workspace,
      () => this.now(),
      (after) => this.store.batchesAfter(after),
      (rooms) => this.tellRooms(rooms),
    );
    this.store.seqFloor = this.live.seq;
    this.alerts = new HubAlerts({
      sql: ctx.storage.sql,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: () => this.now(),
      workspace: () => this.workspace,
      live: () => this.live.numbers(),
      enqueue: (jobs, now) => this.deliveries.enqueue(jobs, now),
      d1: env.DB,
      publicUrl: env.PUBLIC_URL,
      replay: (after) => this.store.batchesAfter(after),
      onFiringChanged: () => this.live.fanout.changed(),
    });
    this.live.firingAlerts = () => this.alerts.firing();
    this.deliveries = new DeliveryQueue(ctx.storage.sql, { backoffMs: deliveryBackoffFromEnv(env) });
    this.drain = new HubDrain({
      store: this.store,
      db: env.DB,
      bucket: env.ARCHIVE,
      workspace: () => this.workspace,
      sync: () => ctx.storage.sync(),
      beforeRelease: () => {
        this.live.saveIfDue(true);
        this.alerts.saveIfDue(true);
      },
      setAlarm: (at) => this.setAlarm(at),
    });
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
      // Archive objects left to delete by a crash (a dead letter's retry cut short): the alarm deletes them.
      if (this.alarmAt === null && this.store.archiveDeletes.pending().length) this.setAlarm(Date.now());
      // Enabled alert rules are evaluated from the alarm, traffic or not.
      if (this.alarmAt === null && this.alerts.hasEnabled()) this.setAlarm(Date.now() + LIMITS.alertEvaluateEveryMs);
      // Deliveries pending from before a restart: the alarm takes them up again (earlier, if it was set later).
      this.armForDeliveries();
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
      this.alerts.apply(batch, seq);
    });
    const workspace = this.workspace;
    if (all.length && touched && workspace) {
      this.live.fanout.publish(touched.live);
      this.forwardToRooms(workspace, all, touched.rooms);
      this.scheduleAlarm(Date.now() + DRAIN_DELAY_MS);
      this.evaluateAlerts(false);
    }
    return results.map((r) => ({ accepted: r.accepted.length, duplicates: r.duplicates }));
  }

  /** One call per room per batch, after the batch is durable; never one per event. */
  private forwardToRooms(workspace: WorkspaceRef, accepted: NormalizedEvent[], rooms: Set<string>): void {
    for (const room of rooms) {
      const events = accepted.filter((e) => e.room === room);
      const presence = this.live.presence.view(room);
      this.ctx.waitUntil(roomHub(this.env, workspace.id, room).push(workspace, room, events, presence, this.fixedNow).catch((err) => console.warn(`room ${room}: push failed`, String(err))));
    }
  }

  private tellRooms(rooms: RoomPresence[]): void {
    const workspace = this.workspace;
    if (!workspace) return;
    for (const p of rooms) {
      this.ctx.waitUntil(roomHub(this.env, workspace.id, p.room).setPresence(workspace, p.room, p, this.fixedNow).catch((err) => console.warn(`room ${p.room}: presence failed`, String(err))));
    }
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
    this.startDeliveries();
    await this.drain.run();
    this.live.expire();
    if (this.alerts.needsLoad) await this.alerts.loadFromD1();
    // On a fixed test clock the test drives evaluations (tickForTest): an alarm in between would race it.
    if (this.fixedNow === null) this.evaluateAlerts(true);
    this.alerts.saveIfDue();
    const nextLive = [this.live.fanout.periodic(), this.live.nextExpiryAt(), this.alerts.hasEnabled() ? Date.now() + LIMITS.alertEvaluateEveryMs : null]
      .filter((t): t is number => t !== null);
    if (nextLive.length) this.scheduleAlarm(Math.min(...nextLive));
  }

  /** Evaluates the alert rules (after a batch: at most once a second); transitions go to the delivery queue, their state to D1. */
  private evaluateAlerts(always: boolean): void {
    const transitions = always ? this.alerts.evaluate() : this.alerts.afterBatch();
    if (transitions) this.armForDeliveries();
    this.ctx.waitUntil(this.alerts.syncD1());
  }

  /** The workspace's alert rules as D1 has them now (the routes call this after every change). */
  async setAlertRules(workspace: WorkspaceRef, rules: HubRule[]): Promise<void> {
    this.remember(workspace);
    this.alerts.setRules(rules);
    this.evaluateAlerts(true);
    this.live.fanout.changed();
    if (this.alerts.hasEnabled()) this.scheduleAlarm(Date.now() + LIMITS.alertEvaluateEveryMs);
  }

  /** Test only: a rule's evaluation state in this hub. */
  async alertStateForTest(id: string): Promise<RuleState | undefined> {
    return this.alerts.stateOf(id);
  }

  /** Attempts the due deliveries without holding up the alarm (a slow destination must not delay the drain), then re-arms. */
  private startDeliveries(): void {
    const run = this.deliveries.runDue(Date.now()).then(() => this.armForDeliveries());
    // A failure leaves the leases in storage: the alarm armed below retries after them.
    this.ctx.waitUntil(run.catch((err) => console.warn('deliveries failed', String(err))));
    this.armForDeliveries();
  }

  private armForDeliveries(): void {
    const at = this.deliveries.nextDueAt();
    if (at !== null) this.scheduleAlarm(at);
  }

  /** Queues signed POSTs (idempotent by webhook-id) and has the alarm send them now. */
  async enqueueDeliveries(workspace: WorkspaceRef, jobs: DeliveryJob[]): Promise<void> {
    this.remember(workspace);
    this.deliveries.enqueue(jobs, Date.now());
    this.armForDeliveries();
  }

  /** The deliveries of a rule or schedule, newest first. */
  async listDeliveries(workspace: WorkspaceRef, ownerId: string): Promise<Delivery[]> {
    this.remember(workspace);
    return this.deliveries.list(ownerId);
  }

  /** A rule or schedule was deleted: its deliveries (pending ones too) go with it. */
  async forgetDeliveries(workspace: WorkspaceRef, ownerId: string): Promise<void> {
    this.remember(workspace);
    this.deliveries.forget(ownerId);
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
    await Promise.all([...rooms].map((room) => roomHub(this.env, workspace.id, room).eraseUser(userId)));
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
      const counts = await Promise.all([...this.live.watchedRooms].map((room) => roomHub(this.env, workspaceId, room).closeAll().catch(() => 0)));
      closed += counts.reduce((a, b) => a + b, 0);
    }
    return closed;
  }

  /** A key was revoked: closes the live connections it opened here and in the watched rooms; returns how many. */
  async closeKeyLive(workspaceId: string, keyId: string): Promise<number> {
    // The workspace comes with the call: a hub that only ever heard from its rooms does not know it.
    const counts = await Promise.all([...this.live.watchedRooms].map((room) => roomHub(this.env, workspaceId, room).closeKey(keyId).catch(() => 0)));
    return counts.reduce((a, b) => a + b, this.live.fanout.closeKey(keyId));
  }

  /** Test only: fixes the live clock at `now` (epoch ms), or back to real time with null. */
  async setClockForTest(now: number | null): Promise<void> {
    this.fixedNow = now;
  }

  /** Test only: runs the periodic live work now (presence timeouts). */
  async tickForTest(): Promise<void> {
    this.live.expire();
    if (this.alerts.evaluate()) this.armForDeliveries();
    await this.alerts.syncD1();
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
    this.alerts.reset();
    this.deliveries.open();
    this.workspace = undefined;
  }
}
