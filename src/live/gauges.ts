import { LIMITS } from '../shared/limits';
import type { Stats } from '../shared/live';

const SECOND = 1000;
const MINUTE = 60_000;

/** Samples folded per slot of a ring: how many, their sum, minimum and maximum. */
type Slot = { key: number; n: number; sum: number; min: number; max: number };

/**
 * Sample statistics per time slot over the last `size` slots: a slot remembers which slot number it
 * holds, so stale slots read as empty and memory never grows (like windows.ts' SecondRing).
 */
class SampleRing {
  private readonly slots: Array<Slot | undefined>;

  constructor(private readonly size: number, private readonly slotMs: number) {
    this.slots = new Array(size);
  }

  add(ts: number, v: number): void {
    const key = Math.floor(ts / this.slotMs);
    const i = key % this.size;
    let s = this.slots[i];
    if (s && s.key > key) return; // older than the window this slot now covers
    if (!s || s.key !== key) this.slots[i] = s = { key, n: 0, sum: 0, min: v, max: v };
    s.n++;
    s.sum += v;
    if (v < s.min) s.min = v;
    if (v > s.max) s.max = v;
  }

  /** The samples of the slots in (now - span, now], span a whole number of slots. */
  fold(now: number, spanMs: number): { n: number; sum: number; min: number; max: number } {
    const nowKey = Math.floor(now / this.slotMs);
    const from = nowKey - Math.round(spanMs / this.slotMs);
    const out = { n: 0, sum: 0, min: Infinity, max: -Infinity };
    for (const s of this.slots) {
      if (!s || s.key <= from || s.key > nowKey) continue;
      out.n += s.n;
      out.sum += s.sum;
      out.min = Math.min(out.min, s.min);
      out.max = Math.max(out.max, s.max);
    }
    return out;
  }

  /** The slots still inside the window of the newest one (older ones can never be read again). */
  toJSON(): number[][] {
    let newest = -Infinity;
    for (const s of this.slots) if (s && s.key > newest) newest = s.key; // a loop: the ring is sparse, map() would skip its holes
    return this.slots.filter((s): s is Slot => !!s && s.key > newest - this.size).map((s) => [s.key, s.n, s.sum, s.min, s.max]);
  }

  load(rows: number[][]): void {
    for (const [key, n, sum, min, max] of rows) this.slots[key % this.size] = { key, n, sum, min, max };
  }
}

interface Gauge {
  last: number;
  lastTs: number;
  /** Per second over the last minute: avg1m and max1m. */
  seconds: SampleRing;
  /** Per minute over the last hour: windows of alert rules (windowMinutes 1–60). */
  minutes: SampleRing;
}

/** A gauge's samples over a window ending now, and its latest sample. */
export interface GaugeWindow {
  last: number;
  lastTs: number;
  samples: number;
  /** Null without samples in the window. */
  avg: number | null;
  min: number | null;
  max: number | null;
}

export type LiveGaugesJson = Array<[string, number, number, number[][], number[][]]>;

const newGauge = (): Gauge => ({ last: 0, lastTs: -Infinity, seconds: new SampleRing(60, SECOND), minutes: new SampleRing(60, MINUTE) });

/**
 * The gauges (sampled levels sent on events) of a workspace or room, live: the latest sample of
 * each name and per-second/per-minute sample statistics. At most LIMITS.liveGaugeNamesMax names;
 * a new name beyond that pushes out the one quiet the longest.
 */
export class LiveGauges {
  private gauges = new Map<string, Gauge>();

  /** A sample taken at `ts` (the event time clamped to its receipt); a later one at the same time wins `last`. */
  add(name: string, v: number, ts: number): void {
    let g = this.gauges.get(name);
    if (!g) {
      if (this.gauges.size >= LIMITS.liveGaugeNamesMax) this.evictQuietest();
      this.gauges.set(name, (g = newGauge()));
    }
    if (ts >= g.lastTs) {
      g.last = v;
      g.lastTs = ts;
    }
    g.seconds.add(ts, v);
    g.minutes.add(ts, v);
  }

  private evictQuietest(): void {
    let victim: string | undefined;
    let oldest = Infinity;
    for (const [name, g] of this.gauges) {
      if (g.lastTs < oldest) {
        oldest = g.lastTs;
        victim = name;
      }
    }
    if (victim !== undefined) this.gauges.delete(victim);
  }

  /** One gauge over the last `windowMs` (whole minutes up to 60 or exactly one minute at second precision); null for an unknown name. */
  window(name: string, now: number, windowMs: number): GaugeWindow | null {
    const g = this.gauges.get(name);
    if (!g) return null;
    const f = windowMs <= MINUTE ? g.seconds.fold(now, windowMs) : g.minutes.fold(now, Math.min(windowMs, 60 * MINUTE));
    return { last: g.last, lastTs: g.lastTs, samples: f.n, avg: f.n ? f.sum / f.n : null, min: f.n ? f.min : null, max: f.n ? f.max : null };
  }

  /**
   * `Stats.gauges`: every gauge heard within LIMITS.liveGaugeStaleMs. A gauge is a level that holds
   * until the next sample, so without a sample in the last minute avg1m and max1m are its last value.
   */
  snapshot(now: number): NonNullable<Stats['gauges']> {
    const out: NonNullable<Stats['gauges']> = {};
    for (const name of [...this.gauges.keys()].sort()) {
      const g = this.gauges.get(name)!;
      if (g.lastTs < now - LIMITS.liveGaugeStaleMs) continue;
      const f = g.seconds.fold(now, MINUTE);
      out[name] = f.n ? { last: g.last, avg1m: f.sum / f.n, max1m: f.max } : { last: g.last, avg1m: g.last, max1m: g.last };
    }
    return out;
  }

  get size(): number {
    return this.gauges.size;
  }

  /** The quietest first, so a snapshot over its cap cuts those. */
  toJSON(): LiveGaugesJson {
    return [...this.gauges]
      .sort((a, b) => a[1].lastTs - b[1].lastTs)
      .map(([name, g]) => [name, g.last, g.lastTs, g.seconds.toJSON(), g.minutes.toJSON()]);
  }

  static fromJSON(json: LiveGaugesJson | undefined): LiveGauges {
    const out = new LiveGauges();
    for (const [name, last, lastTs, seconds, minutes] of json ?? []) {
      const g = newGauge();
      g.last = last;
      g.lastTs = lastTs;
      g.seconds.load(seconds);
      g.minutes.load(minutes);
      out.gauges.set(name, g);
    }
    return out;
  }
}
