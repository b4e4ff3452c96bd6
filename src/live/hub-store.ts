import { packJsonArrays } from '../history/json-chunks';
import type { NormalizedEvent } from '../ingest/types';
import { DeadLetterStore } from './dead-letters';
import { SeenIds } from './seen-ids';
import { ArchiveDeletes } from './archive-deletes';

/** JSON per drain: 1,000 single 32 KiB events would otherwise be 32 MB held in memory and sent to D1 at once. */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A SQLite value in a Durable Object holds at most 2 MB: an outbox row's JSON stays under 600,000
 * UTF-16 units (at most 1.8 MB of UTF-8), so a large group commit takes several rows.
 */
const OUTBOX_ROW_MAX_CHARS = 600_000;

/** The events as JSON arrays of at most OUTBOX_ROW_MAX_CHARS each (one event alone is at most 32 KiB). */
function outboxRows(events: NormalizedEvent[]): string[] {
  return packJsonArrays(events.map((e) => JSON.stringify(e)), OUTBOX_ROW_MAX_CHARS);
}

/**
 * A drain's identity, kept in the hub's storage from before D1 is called until its batches leave the
 * outbox: a retry takes exactly the same batches under the same id, so one drain_log row in D1 per
 * drain (not per batch) tells whether it committed.
 */
interface DrainRecord {
  id: string;
  from: number;
  to: number;
  /** Failed tries of this drain that were not flagged transient. */
  failures?: number;
  /** When a drain holding these batches first failed. */
  firstFailedAt?: number;
  /** One batch drained alone under its own id, after a drain of several failed (see `isolate`). */
  solo?: boolean;
}

export interface DrainPlan extends DrainRecord {
  batches: OutboxBatch[];
  /** Batches from before drains had one id (drain_log rows per batch): drained with per-batch ids. */
  perBatch: boolean;
}

export interface OutboxBatch {
  seq: number;
  batchId: string;
  events: NormalizedEvent[];
  attempts: number;
}

/**
 * The hub's durable state in its own SQLite: de-duplication records (seen-ids.ts), the outbox (one
 * row per group commit) with the drain in progress, and the batches the drain set aside.
 */
export class HubStore {
  private written = 0;
  /** New outbox batches get a seq above this (the highest seq the live snapshot has seen). */
  seqFloor = 0;
  /** The highest outbox seq ever used here (read once; gaps after a rollback are harmless). */
  private outboxMax: number | undefined;
  private readonly seen: SeenIds;
  /** Batches set aside by the drain, in the same storage (moved there in one transaction). */
  readonly deadLetters: DeadLetterStore;
  readonly archiveDeletes: ArchiveDeletes;

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {
    this.deadLetters = new DeadLetterStore(sql);
    this.archiveDeletes = new ArchiveDeletes(sql);
    this.seen = new SeenIds(sql);
    this.open();
  }

  /** Rows written by this store since the object started (DO cursor `rowsWritten`). */
  get rowsWritten(): number {
    return this.written + this.seen.rowsWritten + this.archiveDeletes.rowsWritten;
  }

  /** Creates the tables (again, after `deleteAll()`) and re-reads which day tables exist. */
  open(): void {
    this.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, events TEXT NOT NULL)`);
    this.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.deadLetters.open();
    this.seen.open();
    // Outbox batches written before per-drain ids were logged in D1 per batch; they keep that.
    if (this.getMeta<number>('perBatchUpTo') === undefined) this.setMeta('perBatchUpTo', this.maxSeq());
  }

  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.written += cursor.rowsWritten;
    return rows;
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, JSON.stringify(value));
  }

  /**
   * Records the new ids of one or more requests' batches and appends them to the outbox as ONE row,
   * in one transaction: when this returns (and storage has synced), the accepted events are durable
   * and a retry of any of them is a duplicate. Returns what each request got, in order.
   */
  admitGroup(
    requests: NormalizedEvent[][],
    now: number,
    /** Runs inside the same transaction once the batch is in the outbox (live state, its snapshot). */
    andThen?: (accepted: NormalizedEvent[], seq: number) => void,
  ): Array<{ accepted: NormalizedEvent[]; duplicates: number }> {
    return this.transaction(() => {
      this.seen.ensureDay(now);
      const ids: string[] = [];
      for (const events of requests) for (const e of events) ids.push(e.id);
      const known = this.seen.known(ids);
      const accepted: NormalizedEvent[] = [];
      const acceptedIds: string[] = [];
      const results = requests.map((events) => {
        const mine: NormalizedEvent[] = [];
        for (const event of events) {
          if (known.has(event.id)) continue;
          known.add(event.id); // a repeat inside the same batch (or another request of the group) is a duplicate too
          accepted.push(event);
          acceptedIds.push(event.id);
          mine.push(event);
        }
        return { accepted: mine, duplicates: events.length - mine.length };
      });
      if (accepted.length) {
        this.seen.record(acceptedIds, now);
        let seq = 0;
        for (const json of outboxRows(accepted)) {
          // Explicit seq above `seqFloor`: rowids restart when the drained outbox is empty, and the
          // live snapshot tells "applied" from "to replay" by seq.
          seq = Math.max(this.seqFloor, (this.outboxMax ??= this.maxSeq())) + 1;
          this.exec(`INSERT INTO outbox (seq, batch_id, created_at, events) VALUES (?, ?, ?, ?)`, seq, crypto.randomUUID(), now, json);
          this.seqFloor = this.outboxMax = seq;
        }
        andThen?.(accepted, seq);
      }
      return results;
    });
  }

  /** One request's batch: `admitGroup` of one. */
  admit(events: NormalizedEvent[], now: number, andThen?: (accepted: NormalizedEvent[], seq: number) => void): { accepted: NormalizedEvent[]; duplicates: number } {
    return this.admitGroup([events], now, andThen)[0];
  }

  /** The highest seq in the outbox (0 when empty). */
  private maxSeq(): number {
    return this.sql.exec<{ seq: number }>(`SELECT coalesce(max(seq), 0) AS seq FROM outbox`).one().seq;
  }

  /** Oldest outbox batches, up to `maxEvents` events and `maxBytes` of JSON (at least one batch). */
  pending(maxEvents: number, maxBytes: number = DRAIN_MAX_BYTES): OutboxBatch[] {
    const out: OutboxBatch[] = [];
    let total = 0;
    let bytes = 0;
    const cursor = this.sql.exec<{ seq: number; batch_id: string; attempts: number; events: string; bytes: number }>(
      `SELECT seq, batch_id, attempts, events, length(events) AS bytes FROM outbox ORDER BY seq LIMIT 1000`,
    );
    for (const row of cursor) {
      if (out.length && bytes + row.bytes > maxBytes) break;
      const events = JSON.parse(row.events) as NormalizedEvent[];
      if (out.length && total + events.length > maxEvents) break;
      out.push({ seq: row.seq, batchId: row.batch_id, events, attempts: row.attempts });
      total += events.length;
      bytes += row.bytes;
    }
    return out;
  }

  /** Batches still in the outbox after `seq`, oldest first (replayed into the live state after a restart). */
  batchesAfter(seq: number): Array<{ seq: number; events: NormalizedEvent[] }> {
    return this.sql
      .exec<{ seq: number; events: string }>(`SELECT seq, events FROM outbox WHERE seq > ? ORDER BY seq`, seq)
      .toArray()
      .map((r) => ({ seq: r.seq, events: JSON.parse(r.events) as NormalizedEvent[] }));
  }

  /** Whether any batch waits: one row looked at, where count(*) reads every page of the outbox. */
  hasPending(): boolean {
    return this.sql.exec(`SELECT 1 FROM outbox LIMIT 1`).toArray().length > 0;
  }

  pendingCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM outbox`).one().n;
  }

  /** The outbox's size and when its oldest batch was admitted (null when empty): how far history lags. */
  backlog(): { batches: number; oldestAt: number | null } {
    const row = this.sql.exec<{ n: number; oldest: number | null }>(`SELECT count(*) AS n, min(created_at) AS oldest FROM outbox`).one();
    return { batches: row.n, oldestAt: row.oldest };
  }

  /**
   * The drain in progress (recorded, not finished) or a new one of the oldest batches, recorded
   * before D1 is called. Batches of an isolated drain go one at a time, each under its own id.
   */
  planDrain(maxEvents: number, maxBytes: number = DRAIN_MAX_BYTES): DrainPlan | undefined {
    const open = this.getMeta<DrainRecord>('drain');
    if (open) {
      const batches = this.range(open.from, open.to);
      if (batches.length) return this.withBatches(open, batches);
    }
    const isolated = this.getMeta<{ upTo: number; since: number }>('isolate');
    const first = this.sql.exec<{ seq: number }>(`SELECT seq FROM outbox ORDER BY seq LIMIT 1`).toArray()[0];
    if (isolated && !(first && first.seq <= isolated.upTo)) this.exec(`DELETE FROM meta WHERE key = 'isolate'`);
    if (!first) {
      if (open) this.exec(`DELETE FROM meta WHERE key = 'drain'`);
      return undefined;
    }
    let rec: DrainRecord;
    let batches: OutboxBatch[];
    if (isolated && first.seq <= isolated.upTo) {
      batches = this.range(first.seq, first.seq);
      // Its own batch id as the drain id: the key it keeps in drain_log through every retry and as a dead letter.
      rec = { id: batches[0].batchId, from: first.seq, to: first.seq, solo: true, firstFailedAt: isolated.since };
    } else {
      batches = this.pending(maxEvents, maxBytes);
      rec = { id: crypto.randomUUID(), from: batches[0].seq, to: batches[batches.length - 1].seq };
    }
    this.setMeta('drain', rec);
    return this.withBatches(rec, batches);
  }

  private withBatches(rec: DrainRecord, batches: OutboxBatch[]): DrainPlan {
    const perBatchUpTo = this.getMeta<number>('perBatchUpTo') ?? 0;
    return { ...rec, batches, perBatch: rec.from <= perBatchUpTo };
  }

  /** The drain failed for a reason not flagged transient: counted in its record; returns its failures so far. */
  recordFailure(plan: DrainPlan, now: number): number {
    plan.failures = (plan.failures ?? 0) + 1;
    plan.firstFailedAt ??= now;
    const { batches: _b, perBatch: _p, ...rec } = plan;
    this.exec(`UPDATE meta SET value = ? WHERE key = 'drain' AND value ->> '$.id' = ?`, JSON.stringify(rec), plan.id);
    return plan.failures;
  }

  /**
   * The drain of several batches (fenced in D1: it can no longer commit) is given up: its batches
   * go one at a time from now on, each under its own id, so one that D1 refuses shows itself.
   */
  isolate(plan: DrainPlan, now: number, archiveKeys: string[] = []): void {
    this.transaction(() => {
      // Same transaction: the fenced drain's archive objects are to go before its batches are written under their own ids.
      this.archiveDeletes.add(archiveKeys);
      const upTo = Math.max(plan.to, this.getMeta<{ upTo: number }>('isolate')?.upTo ?? 0);
      this.setMeta('isolate', { upTo, since: plan.firstFailedAt ?? now });
      this.exec(`DELETE FROM meta WHERE key = 'drain' AND value ->> '$.id' = ?`, plan.id);
    });
  }

  /**
   * A drain of one batch that D1 refuses leaves the outbox for the dead letters, in one transaction,
   * named by the key it was written under (so a retry under it can never commit twice).
   */
  setAside(plan: DrainPlan, error: string, now: number, archiveKeys: string[] = []): void {
    const [batch] = plan.batches;
    this.transaction(() => {
      // Its attempts as counted in storage, this step's failure included.
      const attempts = this.sql.exec<{ attempts: number }>(`SELECT attempts FROM outbox WHERE seq = ?`, batch.seq).toArray()[0]?.attempts ?? batch.attempts;
      if (!this.release(plan)) return;
      // A dead letter is in no archive file: the objects its failed drains wrote are to go.
      this.archiveDeletes.add(archiveKeys);
      this.written += this.deadLetters.add({ id: plan.perBatch ? batch.batchId : plan.id, events: batch.events, attempts, firstFailedAt: plan.firstFailedAt ?? now }, error, now);
    });
  }

  /** A retried dead letter committed: it leaves the dead letters, and its archive objects (written before) stay. */
  deadLetterDrained(id: string, archiveKeys: readonly string[]): void {
    this.transaction(() => {
      this.deadLetters.remove(id);
      this.archiveDeletes.drop(archiveKeys);
    });
  }

  /** The drain committed in D1: its batches leave the outbox with its record. */
  finishDrain(plan: DrainPlan): void {
    this.transaction(() => this.release(plan));
  }

  /**
   * Its batches (one DELETE by seq range) and its record, only while it is the drain in progress: a
   * concurrent step may have finished it and planned the next one, or set its batches apart.
   */
  private release(plan: DrainPlan): boolean {
    const current = this.exec(`DELETE FROM meta WHERE key = 'drain' AND value ->> '$.id' = ? RETURNING key`, plan.id).length > 0;
    if (current) this.exec(`DELETE FROM outbox WHERE seq BETWEEN ? AND ?`, plan.from, plan.to);
    return current;
  }

  private range(from: number, to: number): OutboxBatch[] {
    return this.sql
      .exec<{ seq: number; batch_id: string; attempts: number; events: string }>(`SELECT seq, batch_id, attempts, events FROM outbox WHERE seq BETWEEN ? AND ? ORDER BY seq`, from, to)
      .toArray()
      .map((r) => ({ seq: r.seq, batchId: r.batch_id, events: JSON.parse(r.events) as NormalizedEvent[], attempts: r.attempts }));
  }

  remove(batches: OutboxBatch[]): void {
    if (!batches.length) return;
    this.exec(`DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))`, JSON.stringify(batches.map((b) => b.seq)));
  }

  markAttempt(batches: OutboxBatch[]): void {
    this.exec(
      `UPDATE outbox SET attempts = attempts + 1 WHERE seq IN (SELECT value FROM json_each(?))`,
      JSON.stringify(batches.map((b) => b.seq)),
    );
  }
}
