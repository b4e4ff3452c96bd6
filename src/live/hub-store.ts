import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';

const DAY_MS = 86_400_000;
/** JSON per drain: 1,000 single 32 KiB events would otherwise be 32 MB held in memory and sent to D1 at once. */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;

export interface OutboxBatch {
  seq: number;
  batchId: string;
  events: NormalizedEvent[];
  attempts: number;
}

/**
 * The hub's durable state in its own SQLite: de-duplication records in one table per UTC day
 * (retention drops a whole table, so an id costs one row written in its life) and the outbox,
 * one row per accepted request batch.
 */
export class HubStore {
  /** Rows written by this store since the object started (DO cursor `rowsWritten`). */
  rowsWritten = 0;
  /** New outbox batches get a seq above this (the highest seq the live snapshot has seen). */
  seqFloor = 0;
  private seenDays: number[] = [];

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {
    this.open();
  }

  /** Creates the tables (again, after `deleteAll()`) and re-reads which day tables exist. */
  open(): void {
    this.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, events TEXT NOT NULL)`);
    this.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.seenDays = this.sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'seen_%'`)
      .toArray()
      .map((r) => Number(r.name.slice(5)))
      .sort((a, b) => b - a);
  }

  private exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) {
    const cursor = this.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
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
   * Records the batch's new ids and appends them to the outbox in one transaction: when this
   * returns, the accepted events are durable and a retry of any of them is a duplicate.
   */
  admit(
    events: NormalizedEvent[],
    now: number,
    /** Runs inside the same transaction once the batch is in the outbox (live state, its snapshot). */
    andThen?: (accepted: NormalizedEvent[], seq: number) => void,
  ): { accepted: NormalizedEvent[]; duplicates: number } {
    return this.transaction(() => {
      const today = Math.floor(now / DAY_MS);
      this.ensureSeenTable(today);
      const ids = events.map((e) => e.id);
      const known = new Set<string>();
      const idsJson = JSON.stringify(ids);
      for (const day of this.seenDays) {
        for (const row of this.sql.exec<{ id: string }>(
          `SELECT s.id FROM seen_${day} s JOIN json_each(?) j ON s.id = j.value`,
          idsJson,
        )) {
          known.add(row.id);
        }
      }
      const accepted: NormalizedEvent[] = [];
      for (const event of events) {
        if (known.has(event.id)) continue;
        known.add(event.id); // a repeat inside the same batch is a duplicate too
        accepted.push(event);
      }
      if (accepted.length) {
        this.exec(`INSERT INTO seen_${today} (id) SELECT value FROM json_each(?)`, JSON.stringify(accepted.map((e) => e.id)));
        // Explicit seq above `seqFloor`: rowids restart when the drained outbox is empty, and the
        // live snapshot tells "applied" from "to replay" by seq.
        this.exec(
          `INSERT INTO outbox (seq, batch_id, created_at, events) VALUES (max(?, (SELECT coalesce(max(seq), 0) FROM outbox)) + 1, ?, ?, ?)`,
          this.seqFloor,
          crypto.randomUUID(),
          now,
          JSON.stringify(accepted),
        );
        const seq = this.sql.exec<{ seq: number }>(`SELECT last_insert_rowid() AS seq`).one().seq;
        this.seqFloor = seq;
        andThen?.(accepted, seq);
      }
      return { accepted, duplicates: events.length - accepted.length };
    });
  }

  private ensureSeenTable(day: number): void {
    if (this.seenDays.includes(day)) return;
    this.exec(`CREATE TABLE IF NOT EXISTS seen_${day} (id TEXT PRIMARY KEY) WITHOUT ROWID`);
    this.seenDays = [day, ...this.seenDays].sort((a, b) => b - a);
    this.pruneSeen(day);
  }

  /** Drops whole days older than the de-duplication window (plus one for the day boundary). */
  private pruneSeen(today: number): void {
    const oldest = today - LIMITS.dedupeDays;
    for (const day of this.seenDays.filter((d) => d < oldest)) this.exec(`DROP TABLE IF EXISTS seen_${day}`);
    this.seenDays = this.seenDays.filter((d) => d >= oldest);
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

  pendingCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM outbox`).one().n;
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
