import type { DDSketch } from '@datadog/sketches-js';
import { acceptDuration, decodeLatency, decodeUsers, encodeDurations, HyperLogLog, hash53, newDurations } from './sketches';

/**
 * Per-second counters over the last `size` seconds in a ring: a slot remembers which second it
 * holds, so stale slots read as zero and memory never grows.
 */
export class SecondRing {
  private readonly sec: Float64Array;
  private readonly vals: Float64Array[];

  constructor(private readonly size: number, fields: number) {
    this.sec = new Float64Array(size).fill(-1);
    this.vals = Array.from({ length: fields }, () => new Float64Array(size));
  }

  add(second: number, values: number[]): void {
    const slot = second % this.size;
    if (this.sec[slot] !== second) {
      if (this.sec[slot] > second) return; // older than the window this slot now covers
      this.sec[slot] = second;
      for (const v of this.vals) v[slot] = 0;
    }
    for (let f = 0; f < values.length; f++) this.vals[f][slot] += values[f];
  }

  /** Sum of field `f` over seconds (nowSec - span, nowSec]. */
  sum(f: number, nowSec: number, span: number): number {
    let total = 0;
    const from = nowSec - span;
    for (let slot = 0; slot < this.size; slot++) {
      const s = this.sec[slot];
      if (s > from && s <= nowSec) total += this.vals[f][slot];
    }
    return total;
  }

  toJSON(): number[][] {
    const out: number[][] = [];
    for (let slot = 0; slot < this.size; slot++) if (this.sec[slot] >= 0) out.push([this.sec[slot], ...this.vals.map((v) => v[slot])]);
    return out;
  }

  load(rows: number[][] | undefined): void {
    for (const [second, ...values] of rows ?? []) this.add(second, values);
  }
}

/** Distinct users of one bucket: exact up to a few hundred, a HyperLogLog beyond. */
class UserCounter {
  private set: Set<number> | null = new Set();
  private hll: HyperLogLog | null = null;
  private static readonly EXACT_MAX = 512;

  add(userId: string): void {
    if (this.hll) return this.hll.add(userId);
    this.set!.add(hash53(userId));
    if (this.set!.size > UserCounter.EXACT_MAX) {
      // The set holds hashes, so the sketch starts from every user seen so far.
      this.hll = new HyperLogLog();
      for (const h of this.set!) this.hll.addHash(h);
      this.set = null;
    }
  }

  count(): number {
    if (this.hll) return this.hll.estimate();
    return this.set!.size;
  }

  toJSON(): number[] | string {
    return this.hll ? this.hll.encode() : [...this.set!];
  }

  static from(json: number[] | string): UserCounter {
    const c = new UserCounter();
    if (typeof json === 'string') {
      c.hll = decodeUsers(json);
      c.set = null;
    }
    else c.set = new Set(json);
    return c;
  }
}

interface Bucket {
  b: number;
  events: number;
  users: UserCounter;
  latency: DDSketch | null;
}

export const BUCKET_MS = 10_000;

/** 10-second buckets over the last `size` buckets: timeline (events, users) and latency sketches. */
export class BucketRing {
  private readonly slots: Array<Bucket | undefined>;

  constructor(private readonly size: number) {
    this.slots = new Array(size);
  }

  private bucket(b: number): Bucket | undefined {
    const slot = b % this.size;
    const cur = this.slots[slot];
    if (cur && cur.b === b) return cur;
    if (cur && cur.b > b) return undefined;
    const fresh: Bucket = { b, events: 0, users: new UserCounter(), latency: null };
    this.slots[slot] = fresh;
    return fresh;
  }

  add(ts: number, userId: string | null, durationMs: number | null): void {
    const bucket = this.bucket(Math.floor(ts / BUCKET_MS));
    if (!bucket) return;
    bucket.events++;
    if (userId) bucket.users.add(userId);
    if (durationMs !== null && Number.isFinite(durationMs)) acceptDuration((bucket.latency ??= newDurations()), durationMs);
  }

  /** Buckets nowB-count+1 … nowB, oldest first (empty ones as zero). */
  timeline(now: number, count: number): Array<{ t: string; events: number; users: number }> {
    const nowB = Math.floor(now / BUCKET_MS);
    const out = [];
    for (let b = nowB - count + 1; b <= nowB; b++) {
      const cur = this.slots[b % this.size];
      const hit = cur && cur.b === b ? cur : undefined;
      out.push({ t: new Date(b * BUCKET_MS).toISOString(), events: hit?.events ?? 0, users: hit?.users.count() ?? 0 });
    }
    return out;
  }

  /** Latency sketch merged over the last `count` buckets, or null if none saw a duration. */
  latency(now: number, count: number): DDSketch | null {
    const nowB = Math.floor(now / BUCKET_MS);
    let merged: DDSketch | null = null;
    for (const cur of this.slots) {
      if (!cur?.latency || cur.b <= nowB - count || cur.b > nowB) continue;
      (merged ??= newDurations()).merge(cur.latency);
    }
    return merged;
  }

  toJSON(): Array<[number, number, number[] | string, string | null]> {
    return this.slots.filter((s): s is Bucket => !!s).map((s) => [s.b, s.events, s.users.toJSON(), s.latency ? encodeDurations(s.latency) : null]);
  }

  load(rows: Array<[number, number, number[] | string, unknown]> | undefined): void {
    for (const [b, events, users, latency] of rows ?? []) {
      this.slots[b % this.size] = { b, events, users: UserCounter.from(users), latency: decodeLatency(latency) };
    }
  }
}
