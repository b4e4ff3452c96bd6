import type { HubRule } from '../alerts/alert-jobs';
import type { DeliveryJob } from '../alerts/delivery-job';
import { DeliveryQueue, deliveryBackoffFromEnv } from '../alerts/delivery-queue';
import type { RuleState } from '../alerts/evaluate';
import { HubAlerts, type AlertsHost } from '../alerts/hub-alerts';
import type { NormalizedEvent } from '../ingest/types';
import type { Delivery, FiringAlert } from '../shared/alerts';
import { LIMITS } from '../shared/limits';

/** What the hub lends its alerting besides what the rules need. */
export interface AlertingHost extends Pick<AlertsHost, 'now' | 'workspace' | 'live' | 'replay' | 'onFiringChanged'> {
  ctx: DurableObjectState;
  env: Env;
  /** Moves the hub's alarm earlier to `at` (never later). */
  scheduleAlarm(at: number): void;
}

/**
 * A WorkspaceHub's alerting: its rules, evaluated on the live numbers after batches and from the
 * alarm (so silence fires too), and the durable delivery queue that their transitions and the
 * scheduled reports go through, retried from the same alarm.
 */
export class HubAlerting {
  private readonly alerts: HubAlerts;
  private readonly deliveries: DeliveryQueue;

  constructor(private readonly host: AlertingHost) {
    const { ctx, env } = host;
    this.deliveries = new DeliveryQueue(ctx.storage.sql, { backoffMs: deliveryBackoffFromEnv(env) });
    this.alerts = new HubAlerts({
      sql: ctx.storage.sql,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: host.now,
      workspace: host.workspace,
      live: host.live,
      enqueue: (jobs, now) => this.deliveries.enqueue(jobs, now),
      d1: env.DB,
      publicUrl: env.PUBLIC_URL,
      replay: host.replay,
      onFiringChanged: host.onFiringChanged,
    });
  }

  /** After a restart: enabled rules are evaluated from the alarm, traffic or not, and pending deliveries go out again. */
  armAtStart(): void {
    if (this.alerts.hasEnabled()) this.host.scheduleAlarm(Date.now() + LIMITS.alertEvaluateEveryMs);
    this.armForDeliveries();
  }

  /** Inside the outbox transaction: the batch feeds the rules' windows. */
  apply(batch: NormalizedEvent[], seq: number): void {
    this.alerts.apply(batch, seq);
  }

  firing(): FiringAlert[] {
    return this.alerts.firing();
  }

  /** Before a drain releases outbox rows: the saved windows must cover them. */
  saveIfDue(force = false): void {
    this.alerts.saveIfDue(force);
  }

  /** Evaluates the rules (after a batch: at most once a second); transitions go to the delivery queue, their state to D1. */
  evaluate(always: boolean): void {
    try {
      const transitions = always ? this.alerts.evaluate() : this.alerts.afterBatch();
      if (transitions) this.armForDeliveries();
    } catch (err) {
      // Alerting never fails the ingestion it watches: the next evaluation tries again.
      console.error('alerts: evaluation failed', err);
    }
    this.host.ctx.waitUntil(this.alerts.syncD1());
  }

  /** The alarm's share: evaluation (unless a test drives a fixed clock) and the windows' save; returns when to evaluate next, if any rule is enabled. */
  async onAlarm(fixedClock: boolean): Promise<number | null> {
    if (this.alerts.needsLoad) await this.alerts.loadFromD1();
    // On a fixed test clock the test drives evaluations (tick): an alarm in between would race it.
    if (!fixedClock) this.evaluate(true);
    this.alerts.saveIfDue();
    return this.alerts.hasEnabled() ? Date.now() + LIMITS.alertEvaluateEveryMs : null;
  }

  /** Test only: one evaluation now, its D1 write awaited. */
  async tick(): Promise<void> {
    if (this.alerts.evaluate()) this.armForDeliveries();
    await this.alerts.syncD1();
  }

  setRules(rules: HubRule[]): void {
    this.alerts.setRules(rules);
    this.evaluate(true);
    if (this.alerts.hasEnabled()) this.host.scheduleAlarm(Date.now() + LIMITS.alertEvaluateEveryMs);
  }

  stateOf(id: string): RuleState | undefined {
    return this.alerts.stateOf(id);
  }

  /** Attempts the due deliveries without holding up the alarm (a slow destination must not delay the drain), then re-arms. */
  startDeliveries(): void {
    const run = this.deliveries.runDue(Date.now()).then(() => this.armForDeliveries());
    // A failure leaves the leases in storage: the alarm armed below retries after them.
    this.host.ctx.waitUntil(run.catch((err) => console.warn('deliveries failed', String(err))));
    this.armForDeliveries();
  }

  private armForDeliveries(): void {
    const at = this.deliveries.nextDueAt();
    if (at !== null) this.host.scheduleAlarm(at);
  }

  /** Queues signed POSTs (idempotent by webhook-id) and has the alarm send them now. */
  enqueue(jobs: DeliveryJob[]): void {
    this.deliveries.enqueue(jobs, Date.now());
    this.armForDeliveries();
  }

  list(ownerId: string): Delivery[] {
    return this.deliveries.list(ownerId);
  }

  forget(ownerId: string): void {
    this.deliveries.forget(ownerId);
  }

  /** After the hub's storage was wiped: empty tables again. */
  reset(): void {
    this.alerts.reset();
    this.deliveries.open();
  }
}
