import type { NormalizedEvent } from '../ingest/types';
import type { DeadLetter } from '../shared/dead-letters';
import { LIMITS } from '../shared/limits';

/** Event ids and types shown per dead letter. */
const SAMPLE_EVENTS = 5;
/** Characters of D1's error message kept. */
const ERROR_MAX_CHARS = 1_000;

/** A batch set aside, named by the drain_log key it was written under (a retry writes under it again). */
export interface DeadLetterBatch {
  id: string;
  events: NormalizedEvent[];
  /** Failed drains that held it, so far. */
  attempts: number;
  firstFailedAt: number;
}

const clip = (error: string) => (error.length > ERROR_MAX_CHARS ? `${error.slice(0, ERROR_MAX_CHARS - 1)}…` : error);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Outbox batches that D1 refused for their content while it took the drains around them: kept in
 * the hub's SQLite (they survive restarts) until an operator retries or drops them.
 */
export class DeadLetterStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Creates the table (again, after `deleteAll()`). */
  open(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS dead_letters (
      id TEXT PRIMARY KEY, events TEXT NOT NULL, event_count INTEGER NOT NULL, error TEXT NOT NULL,
      first_failed_at INTEGER NOT NULL, last_failed_at INTEGER NOT NULL, attempts INTEGER NOT NULL)`);
  }

  /** Call inside the transaction that removes the batch from the outbox. */
  add(batch: DeadLetterBatch, error: string, now: number): number {
    const cursor = this.sql.exec(
      `INSERT INTO dead_letters (id, events, event_count, error, first_failed_at, last_failed_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET events = excluded.events, event_count = excluded.event_count, error = excluded.error,
         last_failed_at = excluded.last_failed_at, attempts = attempts + excluded.attempts`,
      batch.id, JSON.stringify(batch.events), batch.events.length, clip(error), batch.firstFailedAt, now, batch.attempts,
    );
    return cursor.rowsWritten;
  }

  count(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM dead_letters`).one().n;
  }

  /** The oldest ones first, with a few of their events' ids and types. */
  list(limit: number = LIMITS.deadLettersListed): DeadLetter[] {
    const rows = this.sql
      .exec<{ id: string; event_count: number; error: string; first_failed_at: number; last_failed_at: number; attempts: number; sample: string }>(
        `SELECT d.id, d.event_count, d.error, d.first_failed_at, d.last_failed_at, d.attempts,
           (SELECT json_group_array(json_object('id', e.value ->> '$.id', 'type', e.value ->> '$.type'))
              FROM (SELECT value FROM json_each(d.events) LIMIT ${SAMPLE_EVENTS}) e) AS sample
         FROM dead_letters d ORDER BY d.first_failed_at, d.rowid LIMIT ?`,
        limit,
      )
      .toArray();
    return rows.map((r) => ({
      id: r.id,
      events: r.event_count,
      error: r.error,
      firstFailedAt: iso(r.first_failed_at),
      lastFailedAt: iso(r.last_failed_at),
      attempts: r.attempts,
      sample: JSON.parse(r.sample) as DeadLetter['sample'],
    }));
  }

  /** The batch's events, or undefined when no dead letter has this id. */
  events(id: string): NormalizedEvent[] | undefined {
    const row = this.sql.exec<{ events: string }>(`SELECT events FROM dead_letters WHERE id = ?`, id).toArray()[0];
    return row ? (JSON.parse(row.events) as NormalizedEvent[]) : undefined;
  }

  /** A retry failed too: the newest error, one more attempt. */
  failedAgain(id: string, error: string, now: number): void {
    this.sql.exec(`UPDATE dead_letters SET error = ?, last_failed_at = ?, attempts = attempts + 1 WHERE id = ?`, clip(error), now, id);
  }

  /** Whether one was removed. */
  remove(id: string): boolean {
    return this.sql.exec(`DELETE FROM dead_letters WHERE id = ?`, id).rowsWritten > 0;
  }
}
