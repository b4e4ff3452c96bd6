import type { Delivery, DeliveryType, Destination } from '../shared/alerts';
import { LIMITS } from '../shared/limits';
import type { DeliveryJob } from './delivery-job';
import { sendDelivery, type AttemptResult } from './send-delivery';

/** Waits after the 1st, 2nd, … failed attempt; the last repeats until LIMITS.deliveryRetryMs after creation. */
export const DELIVERY_BACKOFF_MS: readonly number[] = [5_000, 30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 60 * 60_000];

/**
 * The optional `DELIVERY_BACKOFF_SECONDS` var ("5,30,120,…"): replaces the schedule (e2e tests shorten
 * it); unset or not a list of positive numbers: DELIVERY_BACKOFF_MS.
 */
export function deliveryBackoffFromEnv(env: object): readonly number[] | undefined {
  const raw = (env as { DELIVERY_BACKOFF_SECONDS?: unknown }).DELIVERY_BACKOFF_SECONDS;
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const seconds = raw.split(',').map((s) => Number(s.trim()));
  return seconds.every((s) => Number.isFinite(s) && s > 0) ? seconds.map((s) => s * 1000) : undefined;
}

export interface DeliveryQueueOptions {
  /** Replaces DELIVERY_BACKOFF_MS (tests and local runs with a shortened schedule). */
  backoffMs?: readonly number[];
  /** One attempt (sendDelivery unless a test swaps it). */
  send?: (job: DeliveryJob, at: Date) => Promise<AttemptResult>;
  /** Jitter in [0, 1): 0.5 is none. */
  random?: () => number;
}

interface Row {
  id: string;
  owner_id: string;
  type: DeliveryType;
  destination: string;
  secret: string;
  payload: string;
  status: Delivery['status'];
  attempts: number;
  created_at: number;
  last_attempt_at: number | null;
  next_attempt_at: number | null;
  response_status: number | null;
  error: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Outgoing webhooks of one workspace, kept in its hub's SQLite: each job is attempted until a 2xx,
 * with backoff (±20 % jitter) under the same `webhook-id`, for LIMITS.deliveryRetryMs after it was
 * created, then marked failed. Durable across restarts: an attempt first moves its own next time past
 * its timeout (a lease), so an attempt cut short by a restart is simply due again.
 */
export class DeliveryQueue {
  private readonly backoff: readonly number[];
  private readonly send: (job: DeliveryJob, at: Date) => Promise<AttemptResult>;
  private readonly random: () => number;
  /** Ids being attempted by this instance (a second runDue while one is under way skips them). */
  private readonly inFlight = new Set<string>();
  /** Rows written since the object started. */
  rowsWritten = 0;

  constructor(
    private readonly sql: SqlStorage,
    options: DeliveryQueueOptions = {},
  ) {
    this.backoff = options.backoffMs?.length ? options.backoffMs : DELIVERY_BACKOFF_MS;
    this.send = options.send ?? ((job, at) => sendDelivery(job, at));
    this.random = options.random ?? Math.random;
    this.open();
  }

  /** Creates the table (again, after `deleteAll()`). */
  open(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS deliveries (
      id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, type TEXT NOT NULL, destination TEXT NOT NULL, secret TEXT NOT NULL,
      payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, created_at INTEGER NOT NULL,
      last_attempt_at INTEGER, next_attempt_at INTEGER, response_status INTEGER, error TEXT)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_owner ON deliveries (owner_id, created_at)`);
  }

  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /** Queues the jobs, due at once; a job whose id is already here (pending or done) is left as it is. */
  enqueue(jobs: DeliveryJob[], now: number): void {
    const owners = new Set<string>();
    for (const job of jobs) {
      const inserted = this.sql.exec(
        `INSERT INTO deliveries (id, owner_id, type, destination, secret, payload, status, attempts, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
        job.id, job.ownerId, job.type, JSON.stringify(job.destination), job.secret, JSON.stringify(job.payload), now, now,
      ).rowsWritten;
      this.rowsWritten += inserted;
      if (inserted) owners.add(job.ownerId);
    }
    for (const owner of owners) this.prune(owner);
  }

  /** Keeps the newest LIMITS.deliveriesListed finished deliveries of an owner (pending ones stay until they finish). */
  private prune(ownerId: string): void {
    this.exec(
      `DELETE FROM deliveries WHERE owner_id = ? AND status != 'pending' AND rowid NOT IN
         (SELECT rowid FROM deliveries WHERE owner_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
      ownerId, ownerId, LIMITS.deliveriesListed,
    );
  }

  /** An owner's deliveries, the newest first (at most LIMITS.deliveriesListed). */
  list(ownerId: string): Delivery[] {
    const rows = this.exec<Row & Record<string, SqlStorageValue>>(
      `SELECT * FROM deliveries WHERE owner_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`,
      ownerId, LIMITS.deliveriesListed,
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      status: r.status,
      attempts: r.attempts,
      at: iso(r.created_at)!,
      lastAttemptAt: iso(r.last_attempt_at),
      nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
      responseStatus: r.response_status,
      error: r.error,
    }));
  }

  /** Drops an owner's deliveries (its rule or schedule was deleted): pending ones are not attempted again. */
  forget(ownerId: string): void {
    this.exec(`DELETE FROM deliveries WHERE owner_id = ?`, ownerId);
  }

  /** When the next attempt is due (epoch ms), or null when nothing is pending. */
  nextDueAt(): number | null {
    const row = this.sql.exec<{ at: number | null }>(`SELECT min(next_attempt_at) AS at FROM deliveries WHERE next_attempt_at IS NOT NULL`).one();
    return row.at;
  }

  /** How many deliveries are pending. */
  pendingCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM deliveries WHERE next_attempt_at IS NOT NULL`).one().n;
  }

  /** The wait after the `attempts`-th failed attempt, with ±20 % jitter. */
  backoffAfter(attempts: number): number {
    const base = this.backoff[Math.min(attempts, this.backoff.length) - 1] ?? this.backoff[0]!;
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  /**
   * Attempts every delivery due at `now`, at most LIMITS.deliveriesInParallel at a time (at most
   * LIMITS.deliveriesPerRun in one call; nextDueAt() then says the rest is due at once).
   */
  async runDue(now: number): Promise<void> {
    const due = this.exec<Row & Record<string, SqlStorageValue>>(
      `SELECT * FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
      now, LIMITS.deliveriesPerRun + this.inFlight.size,
    ).filter((r) => !this.inFlight.has(r.id)).slice(0, LIMITS.deliveriesPerRun);
    if (!due.length) return;
    // The lease: written before any attempt starts, so a restart mid-attempt finds them due again later.
    const lease = now + LIMITS.deliveryTimeoutMs + this.backoff[0]!;
    for (const r of due) {
      this.inFlight.add(r.id);
      this.exec(`UPDATE deliveries SET next_attempt_at = ? WHERE id = ?`, lease, r.id);
    }
    const started = Date.now();
    const queue = [...due];
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        const at = now + (Date.now() - started);
        try {
          const result = await this.send(this.job(r), new Date(at));
          this.record(r, result, at, now + (Date.now() - started));
        } finally {
          this.inFlight.delete(r.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIMITS.deliveriesInParallel, due.length) }, worker));
  }

  private job(r: Row): DeliveryJob {
    return {
      id: r.id,
      ownerId: r.owner_id,
      type: r.type,
      destination: JSON.parse(r.destination) as Destination,
      secret: r.secret,
      payload: JSON.parse(r.payload) as DeliveryJob['payload'],
    };
  }

  /** An attempt's outcome: delivered, due again after the backoff, or failed past the retry window. */
  private record(r: Row, result: AttemptResult, attemptedAt: number, finishedAt: number): void {
    const attempts = r.attempts + 1;
    let status: Delivery['status'] = 'delivered';
    let next: number | null = null;
    if (!result.ok) {
      next = finishedAt + this.backoffAfter(attempts);
      if (next > r.created_at + LIMITS.deliveryRetryMs) {
        status = 'failed';
        next = null;
      } else status = 'pending';
    }
    // A row forgotten meanwhile (its rule deleted) stays gone: UPDATE touches nothing then.
    this.exec(
      `UPDATE deliveries SET status = ?, attempts = ?, last_attempt_at = ?, next_attempt_at = ?, response_status = ?, error = ? WHERE id = ?`,
      status, attempts, attemptedAt, next, result.status, result.error, r.id,
    );
  }
}
