import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import { db } from '../history/workspaces';
import { LiveStore } from '../live/live-store';
import type { FiringAlert } from '../shared/alerts';
import { LIMITS } from '../shared/limits';
import { alertData, alertJob, toHubRule, transitionId, type HubRule } from './alert-jobs';
import type { DeliveryJob } from './delivery-job';
import { conditionKey, disable, Feed, feedKeyOf, metricValue, step, type FeedJson, type LiveNumbers, type RuleState, type Transition } from './evaluate';
import { listRules, saveRuleState } from './rules-store';

/** What the hub lends its alert rules. */
export interface AlertsHost {
  sql: SqlStorage;
  transaction<T>(fn: () => T): T;
  /** The live clock (fixed in tests). */
  now(): number;
  workspace(): WorkspaceRef | undefined;
  live(): LiveNumbers;
  /** The hub's delivery queue (synchronous writes in the same storage). */
  enqueue(jobs: DeliveryJob[], now: number): void;
  d1: D1Database;
  publicUrl: string | undefined;
  /** Outbox batches after `seq` (acknowledged events the saved windows do not cover yet). */
  replay(after: number): Array<{ seq: number; events: NormalizedEvent[] }>;
  /** Firing rules changed: the live stats show them. */
  onFiringChanged(): void;
}

interface SavedWindows {
  seq: number;
  feeds: FeedJson[];
}

const TOLD = '__told__';

/**
 * A workspace's alert rules inside its hub: the rules and their state in the hub's SQLite (written
 * on changes and transitions, never per event), the windows they read in memory and saved like the
 * live snapshot (outbox batches after the save are replayed), transitions enqueued as deliveries
 * in the same transaction, and written back to D1 (retried at every evaluation until it succeeds).
 */
export class HubAlerts {
  private rules = new Map<string, HubRule>();
  private states = new Map<string, RuleState>();
  private feeds = new Map<string, Feed>();
  /** Rules whose state D1 does not have yet. */
  private d1Pending = new Set<string>();
  private told = false;
  private readonly windows: LiveStore;
  private seq = 0;
  private savedSeq = 0;
  private savedAt = 0;
  private dirty = false;
  private lastEvalAt = Number.NEGATIVE_INFINITY;
  private syncing = false;
  private loading: Promise<void> | null = null;

  constructor(private readonly host: AlertsHost) {
    this.windows = this.open();
    for (const row of host.sql.exec<{ id: string; rule: string; state: string; d1_pending: number }>(`SELECT * FROM alert_rule`)) {
      if (row.id === TOLD) {
        this.told = true;
        continue;
      }
      this.rules.set(row.id, JSON.parse(row.rule) as HubRule);
      this.states.set(row.id, JSON.parse(row.state) as RuleState);
      if (row.d1_pending) this.d1Pending.add(row.id);
    }
    const saved = this.windows.load<SavedWindows>();
    for (const json of saved?.feeds ?? []) this.feeds.set(json.key, Feed.fromJSON(json));
    this.seq = this.savedSeq = saved?.seq ?? 0;
    this.syncFeeds(host.now());
    if (this.feeds.size) for (const batch of host.replay(this.seq)) this.apply(batch.events, batch.seq);
  }

  private open(): LiveStore {
    this.host.sql.exec(`CREATE TABLE IF NOT EXISTS alert_rule (id TEXT PRIMARY KEY, rule TEXT NOT NULL, state TEXT NOT NULL, d1_pending INTEGER NOT NULL DEFAULT 0)`);
    return new LiveStore(this.host.sql, 'alert_windows');
  }

  /** Whether the alarm must keep evaluating. */
  hasEnabled(): boolean {
    for (const r of this.rules.values()) if (r.enabled) return true;
    return false;
  }

  /** Whether the rules must be read from D1 (the hub was never told them). */
  get needsLoad(): boolean {
    return !this.told;
  }

  /** The rules as the routes saved them: new ones start `ok`, a changed condition restarts its pending timer. */
  setRules(rules: HubRule[]): void {
    const now = this.host.now();
    const next = new Map(rules.map((r) => [r.id, r]));
    this.host.transaction(() => {
      for (const id of this.rules.keys()) if (!next.has(id)) this.host.sql.exec(`DELETE FROM alert_rule WHERE id = ?`, id);
      for (const rule of rules) {
        const key = conditionKey(rule);
        const prev = this.states.get(rule.id);
        const state: RuleState = prev
          ? prev.conditionKey === key ? prev : { ...prev, conditionKey: key, pendingSince: null }
          : { state: rule.state, since: rule.since, value: rule.value, pendingSince: null, resolvedAt: null, seq: 0, conditionKey: key };
        this.states.set(rule.id, state);
        this.writeRule(rule, state);
      }
      this.host.sql.exec(`INSERT INTO alert_rule (id, rule, state) VALUES (?, '{}', '{}') ON CONFLICT (id) DO NOTHING`, TOLD);
    });
    for (const id of this.rules.keys()) if (!next.has(id)) {
      this.states.delete(id);
      this.d1Pending.delete(id);
    }
    this.rules = next;
    this.told = true;
    this.syncFeeds(now);
    this.save();
  }

  /** Loads the rules from D1 once, when the hub was never told them (one started before rules existed here). */
  loadFromD1(): Promise<void> {
    const ws = this.host.workspace();
    if (this.told || !ws) return Promise.resolve();
    this.loading ??= listRules(db(this.host.d1), ws.id)
      .then((rows) => {
        if (!this.told) this.setRules(rows.map(toHubRule));
      })
      .catch((err) => console.warn('alerts: loading rules from D1 failed', String(err)))
      .finally(() => (this.loading = null));
    return this.loading;
  }

  private writeRule(rule: HubRule, state: RuleState): void {
    this.host.sql.exec(
      `INSERT INTO alert_rule (id, rule, state, d1_pending) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, state = excluded.state, d1_pending = excluded.d1_pending`,
      rule.id, JSON.stringify(rule), JSON.stringify(state), this.d1Pending.has(rule.id) ? 1 : 0,
    );
  }

  /** One feed per distinct filter of the rules: new ones start empty, unused ones go. */
  private syncFeeds(now: number): void {
    const wanted = new Map<string, boolean>();
    for (const r of this.rules.values()) {
      const key = feedKeyOf(r);
      if (key !== null) wanted.set(key, (wanted.get(key) ?? false) || r.metric === 'latencyP95' || r.metric === 'latencyP99');
    }
    for (const key of this.feeds.keys()) if (!wanted.has(key)) this.feeds.delete(key);
    for (const [key, durations] of wanted) {
      const feed = this.feeds.get(key);
      if (feed) feed.durations ||= durations;
      else this.feeds.set(key, new Feed(key, now, durations));
    }
  }

  /** An accepted batch (inside its outbox transaction). */
  apply(events: NormalizedEvent[], seq: number): void {
    for (const feed of this.feeds.values()) if (feed.add(events)) this.dirty = true;
    this.seq = Math.max(this.seq, seq);
  }

  /** Evaluates after a batch, at most every LIMITS.alertEvaluateAfterBatchMs (the alarm covers the rest). */
  afterBatch(): boolean {
    const now = this.host.now();
    if (!this.rules.size || now - this.lastEvalAt < LIMITS.alertEvaluateAfterBatchMs) return false;
    return this.evaluate(now);
  }

  /** Evaluates every rule now; returns whether any transition happened. */
  evaluate(now = this.host.now()): boolean {
    this.lastEvalAt = now;
    const ws = this.host.workspace();
    if (!this.rules.size || !ws) return false;
    let live: LiveNumbers | null = null;
    const lazyLive: LiveNumbers = {
      onlineUsers: () => (live ??= this.host.live()).onlineUsers(),
      participants: (room) => (live ??= this.host.live()).participants(room),
      fullestRoom: () => (live ??= this.host.live()).fullestRoom(),
    };
    const changed: Array<{ rule: HubRule; state: RuleState; transition?: Transition }> = [];
    for (const rule of this.rules.values()) {
      const before = this.states.get(rule.id)!;
      const key = feedKeyOf(rule);
      const r = rule.enabled ? step(before, rule, metricValue(rule, key === null ? undefined : this.feeds.get(key), now, lazyLive), now) : disable(before, now);
      if (r.state !== before) changed.push({ rule, ...r });
    }
    if (!changed.length) return false;
    const jobs: DeliveryJob[] = [];
    for (const c of changed) {
      this.states.set(c.rule.id, c.state);
      if (!c.transition) continue;
      this.d1Pending.add(c.rule.id);
      const t = c.transition;
      const type = t.to === 'firing' ? 'alert.firing' : 'alert.resolved';
      jobs.push(alertJob(c.rule, transitionId(c.rule.id, t.seq), type, t.at, alertData(c.rule, ws.slug, t.value, t.at, this.host.publicUrl)));
    }
    // The state and its deliveries in one transaction: a transition is never recorded without its POST, nor sent twice.
    this.host.transaction(() => {
      for (const c of changed) this.writeRule(c.rule, c.state);
      if (jobs.length) this.host.enqueue(jobs, Date.now());
    });
    if (jobs.length) this.host.onFiringChanged();
    return jobs.length > 0;
  }

  /** Writes the transitions D1 does not have yet; a failure is retried at the next evaluation. */
  async syncD1(): Promise<void> {
    const ws = this.host.workspace();
    if (this.syncing || !this.d1Pending.size || !ws) return;
    this.syncing = true;
    try {
      const d = db(this.host.d1);
      const sent = [...this.d1Pending].flatMap((id) => {
        const s = this.states.get(id);
        return s ? [{ id, seq: s.seq, statement: saveRuleState(d, ws.id, id, s) }] : [];
      });
      if (sent.length) await d.batch(sent.map((s) => s.statement) as [ReturnType<typeof saveRuleState>]);
      for (const s of sent) {
        const now = this.states.get(s.id);
        if (!now || now.seq !== s.seq) continue; // another transition since: still pending
        this.d1Pending.delete(s.id);
        this.host.sql.exec(`UPDATE alert_rule SET d1_pending = 0 WHERE id = ?`, s.id);
      }
    } catch (err) {
      console.warn('alerts: writing rule states to D1 failed; retried at the next evaluation', String(err));
    } finally {
      this.syncing = false;
    }
  }

  /** The firing rules, as the live stats list them. */
  firing(): FiringAlert[] {
    const out: FiringAlert[] = [];
    for (const rule of this.rules.values()) {
      const s = this.states.get(rule.id);
      if (!rule.enabled || s?.state !== 'firing' || s.since === null) continue;
      out.push({ id: rule.id, name: rule.name, metric: rule.metric, op: rule.op, threshold: rule.threshold, value: s.value, since: new Date(s.since).toISOString() });
    }
    return out;
  }

  /** Test and operations: each rule's evaluation state. */
  stateOf(id: string): RuleState | undefined {
    return this.states.get(id);
  }

  /**
   * Saves the windows if they changed, at most every LIMITS.liveSnapshotEveryMs; forced (before a drain
   * releases outbox rows) only when the saved windows do not cover every applied batch.
   */
  saveIfDue(force = false): void {
    if (!this.dirty) return;
    const at = Date.now();
    if (force ? this.savedSeq >= this.seq : at - this.savedAt < LIMITS.liveSnapshotEveryMs) return;
    this.save(at);
  }

  private save(at = Date.now()): void {
    const saved: SavedWindows = { seq: this.seq, feeds: [...this.feeds.values()].map((f) => f.toJSON()) };
    this.windows.save(saved);
    this.savedAt = at;
    this.savedSeq = this.seq;
    this.dirty = false;
  }

  /** Forgets everything: the workspace was deleted and the hub's storage wiped (the tables are made again). */
  reset(): void {
    this.open();
    this.rules.clear();
    this.states.clear();
    this.feeds.clear();
    this.d1Pending.clear();
    this.told = false;
    this.seq = this.savedSeq = this.savedAt = 0;
    this.dirty = false;
  }

  get rowsWritten(): number {
    return this.windows.rowsWritten;
  }
}
