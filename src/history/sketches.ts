import { DDSketch } from '@datadog/sketches-js';
import { encodeBins, encodeRegisters, encodeSparseRegisters, forEachBin, HLL_M, HLL_P, maxInto, storedRegisters } from './sketch-codec';

/** HyperLogLog precision: 2^14 registers, standard error 1.04/√16384 ≈ 0.8% (2% is 2.5 standard errors). */
const P = HLL_P;
const M = HLL_M;
/** The largest rank: every one of the 53 − P hash bits after the index was 0. */
const MAX_RANK = 53 - P + 1;
/** In memory, a Map past this size costs more (GC, rehashing) than a flat register array. */
const SPARSE_MEMORY_MAX = 256;
/** DDSketch relative accuracy: every percentile within 1%. */
export const DD_ACCURACY = 0.01;

/** cyrb53: a fast 53-bit string hash with good avalanche, enough bits for p=14 plus rank. */
export function hash53(str: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Ertl's σ(x) = x + Σ x^(2^k)·2^(k−1): the empty registers' share of the estimate. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let prev: number;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z !== prev);
  return z;
}

/** Ertl's τ(x): the saturated registers' share of the estimate. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let prev: number;
  do {
    x = Math.sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== prev);
  return z / 3;
}

/** A mergeable unique counter: sparse map of registers while small, dense array after. */
export class HyperLogLog {
  private sparse: Map<number, number> | null = new Map();
  private dense: Uint8Array | null = null;

  add(value: string): void {
    this.addHash(hash53(value));
  }

  /** Adds a value by its hash53 (callers adding one value to many sketches hash it once). */
  addHash(h: number): void {
    const idx = Math.floor(h / 2 ** (53 - P));
    const rest = h % 2 ** (53 - P);
    // rank = position of the first 1 bit in the remaining 39 bits, 1-based.
    const rank = rest === 0 ? 53 - P + 1 : 53 - P - Math.floor(Math.log2(rest));
    this.set(idx, rank);
  }

  private set(idx: number, rank: number): void {
    if (this.dense) {
      if (rank > this.dense[idx]) this.dense[idx] = rank;
      return;
    }
    const s = this.sparse!;
    if ((s.get(idx) ?? 0) < rank) s.set(idx, rank);
    if (s.size > SPARSE_MEMORY_MAX) this.toDense();
  }

  private toDense(): void {
    const d = new Uint8Array(M);
    for (const [i, r] of this.sparse!) d[i] = r;
    this.dense = d;
    this.sparse = null;
  }

  isEmpty(): boolean {
    return this.sparse !== null ? this.sparse.size === 0 : !this.dense!.some((r) => r !== 0);
  }

  merge(other: HyperLogLog): this {
    if (other.dense) {
      if (!this.dense) this.toDense();
      const d = this.dense!;
      const o = other.dense;
      for (let i = 0; i < M; i++) if (o[i] > d[i]) d[i] = o[i];
    } else {
      for (const [i, r] of other.sparse!) this.set(i, r);
    }
    return this;
  }

  /**
   * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
   * 2017): unbiased over the whole range from the register histogram alone, where the classic
   * switch from linear counting to the raw estimate overcounted by about 2.5% near 2.5·m (40,000).
   */
  estimate(): number {
    const hist = new Array<number>(MAX_RANK + 1).fill(0);
    if (this.dense) {
      for (let i = 0; i < M; i++) hist[this.dense[i]]++;
    } else {
      hist[0] = M - this.sparse!.size;
      for (const r of this.sparse!.values()) hist[r]++;
    }
    let z = M * tau((M - hist[MAX_RANK]) / M);
    for (let k = MAX_RANK - 1; k >= 1; k--) z = 0.5 * (z + hist[k]);
    z += M * sigma(hist[0] / M);
    return Math.round((M * M) / (2 * Math.LN2) / z);
  }

  /** The shortest of the sparse and dense encodings (sketch-codec.ts). */
  encode(): string {
    if (this.dense) return encodeRegisters(this.dense);
    return encodeSparseRegisters([...this.sparse!].sort((x, y) => x[0] - y[0]));
  }

  /** Merges an encoded sketch (any encoding, old or new) straight into this one, without building it first. */
  mergeEncoded(text: string | null | undefined): this {
    if (!text) return this;
    if (this.dense && maxInto(text, this.dense)) return this;
    const regs = storedRegisters(text);
    if (!this.dense && this.sparse!.size + regs.count > SPARSE_MEMORY_MAX) {
      this.toDense();
      if (maxInto(text, this.dense!)) return this;
    }
    regs.forEach((i, r) => this.set(i, r));
    return this;
  }

  static decode(text: string | null | undefined): HyperLogLog {
    return new HyperLogLog().mergeEncoded(text);
  }
}

export function newDurations(): DDSketch {
  return new DDSketch({ relativeAccuracy: DD_ACCURACY });
}

/**
 * Durations below this (1 µs) count as 0 in the sketch: each factor of ~1.02 between the smallest and
 * the largest value is a bin, so 1e-300 next to 1e10 would be 35,000 bins in every rollup row.
 * With it and durationMs ≤ 1e10 a sketch has at most ~1,500 bins.
 */
export const DURATION_SKETCH_FLOOR_MS = 1e-3;

/** Adds one accepted durationMs to a sketch (never a non-finite or negative one, whatever was stored). */
export function acceptDuration(s: DDSketch, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  s.accept(ms < DURATION_SKETCH_FLOOR_MS ? 0 : ms);
}

/** "Bzero,count,sum,min,max|firstKey|base64 bins" (sketch-codec.ts) — the positive store's bins with the summary. */
export function encodeDurations(s: DDSketch): string | null {
  if (s.count === 0) return null;
  const st = s.store;
  const counts: number[] = [];
  let first = Number.NaN;
  let pendingZeros = 0;
  for (let i = 0; i < st.bins.length; i++) {
    const c = st.bins[i];
    if (!c) {
      if (!Number.isNaN(first)) pendingZeros++;
      continue;
    }
    if (Number.isNaN(first)) first = i + st.offset;
    else for (; pendingZeros > 0; pendingZeros--) counts.push(0);
    pendingZeros = 0;
    counts.push(c);
  }
  const head = `${s.zeroCount},${s.count},${s.sum},${s.min},${s.max}`;
  const firstKey = Number.isNaN(first) ? 0 : first;
  return encodeBins(head, firstKey, counts) ?? `${head}|${firstKey}|${counts.join(',')}`;
}

export function decodeDurations(text: string | null | undefined): DDSketch {
  return mergeEncodedDurations(newDurations(), text);
}

/** Adds an encoded sketch's bins and summary to `s` (a merge without building the other sketch); "B" or the older decimal list. */
export function mergeEncodedDurations(s: DDSketch, text: string | null | undefined): DDSketch {
  if (!text) return s;
  const compact = text[0] === 'B';
  const [head, firstText, binsText] = (compact ? text.slice(1) : text).split('|');
  const [zero, count, sum, min, max] = head.split(',').map(Number);
  const first = Number(firstText);
  // A stored sketch that is not numbers (none is written so) is left out rather than failing a report.
  if (![zero, count, first].every(Number.isFinite) || Number.isNaN(min) || Number.isNaN(max)) return s;
  if (binsText && compact) forEachBin(binsText, (i, n) => s.store.add(first + i, n));
  else if (binsText) {
    binsText.split(',').forEach((c, i) => {
      const n = Number(c);
      if (n) s.store.add(first + i, n);
    });
  }
  s.zeroCount += zero;
  s.count += count;
  if (Number.isFinite(sum)) s.sum += sum;
  s.min = Math.min(s.min, min);
  s.max = Math.max(s.max, max);
  return s;
}

export function mergeDurations(into: DDSketch, from: DDSketch): void {
  if (from.count > 0) into.merge(from);
}

export function quantile(s: DDSketch, q: number): number | null {
  return s.count > 0 ? s.getValueAtQuantile(q) : null;
}
