import type { DDSketch } from '@datadog/sketches-js';
import { acceptDuration, encodeDurations, hash53, HyperLogLog, mergeDurations, mergeEncodedDurations, newDurations, quantile } from './sketches';

export interface AggInput {
  userId: string | null; sessionId: string | null; durationMs: number | null; bytesIn: number | null; bytesOut: number | null; error: string | null; value: number | null;
}

export const hashesOf = (e: AggInput) => ({ user: e.userId === null ? null : hash53(e.userId), session: e.sessionId === null ? null : hash53(e.sessionId) });

/** Everything a report needs about a set of events; mergeable, so any range is a merge of buckets. */
export class Agg {
  events = 0;
  errors = 0;
  bytesIn = 0;
  bytesOut = 0;
  value = 0;
  durationCount = 0;
  durationSum = 0;
  users = new HyperLogLog();
  sessions = new HyperLogLog();
  durations: DDSketch = newDurations();

  addEvent(e: AggInput, hashes: { user: number | null; session: number | null } = hashesOf(e)): void {
    this.events++;
    if (e.error !== null) this.errors++;
    this.bytesIn += e.bytesIn ?? 0;
    this.bytesOut += e.bytesOut ?? 0;
    this.value += e.value ?? 0;
    if (e.durationMs !== null) {
      this.durationCount++;
      this.durationSum += e.durationMs;
      acceptDuration(this.durations, e.durationMs);
    }
    if (hashes.user !== null) this.users.addHash(hashes.user);
    if (hashes.session !== null) this.sessions.addHash(hashes.session);
  }

  merge(o: Agg): this {
    this.events += o.events;
    this.errors += o.errors;
    this.bytesIn += o.bytesIn;
    this.bytesOut += o.bytesOut;
    this.value += o.value;
    this.durationCount += o.durationCount;
    this.durationSum += o.durationSum;
    this.users.merge(o.users);
    this.sessions.merge(o.sessions);
    mergeDurations(this.durations, o.durations);
    return this;
  }

  /** A stored rollup row (sketch columns encoded) as an Agg. */
  static fromRow(r: RollupValues): Agg {
    return new Agg().mergeRow(r);
  }

  /** Merges a stored row straight in (no intermediate sketches: reports merge hundreds of rows). */
  mergeRow(r: RollupValues): this {
    this.events += r.events;
    this.errors += r.errors;
    this.bytesIn += r.bytesIn;
    this.bytesOut += r.bytesOut;
    this.value += r.value;
    this.durationCount += r.durationCount;
    this.durationSum += r.durationSum;
    this.users.mergeEncoded(r.users);
    this.sessions.mergeEncoded(r.sessions);
    mergeEncodedDurations(this.durations, r.durations);
    return this;
  }

  toRow(): RollupValues {
    return {
      events: this.events, errors: this.errors, bytesIn: this.bytesIn, bytesOut: this.bytesOut, value: this.value,
      durationCount: this.durationCount, durationSum: this.durationSum,
      users: this.users.isEmpty() ? null : this.users.encode(), sessions: this.sessions.isEmpty() ? null : this.sessions.encode(), durations: encodeDurations(this.durations),
    };
  }

  durationStats() {
    return {
      avg: this.durationCount ? this.durationSum / this.durationCount : null,
      p50: quantile(this.durations, 0.5),
      p95: quantile(this.durations, 0.95),
      p99: quantile(this.durations, 0.99),
    };
  }
}

export interface RollupValues {
  events: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  value: number;
  durationCount: number;
  durationSum: number;
  users: string | null;
  sessions: string | null;
  durations: string | null;
}
