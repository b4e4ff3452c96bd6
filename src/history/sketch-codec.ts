/**
 * Stored sketch encodings, sized to what they hold. Text (base64), not BLOB: rollup rows are bound as
 * one JSON array per statement (json_each) and D1 returns BLOBs as arrays of numbers, so text keeps
 * one cheap write path and every reader's string type; base64 costs a third more than bytes would.
 *
 * HyperLogLog registers (2^14, ranks 1–40):
 * - "P" sparse: varint count, Rice parameter k, then per set register (by index) the gap from the
 *   previous one Rice-coded and rank − 1 in unary (ranks are geometric: 2 bits on average).
 * - "D" dense: base rank b and Rice parameter k, then every register's zigzag(rank − b) Rice-coded
 *   (a dense sketch's ranks cluster around log2(n/m): ~3 bits a register instead of 8).
 * The encoder writes whichever is shorter. Still read: "S" (3 bytes a register, base64) and
 * "R" (one character a register), the encodings before these.
 */

import { BitReader, BitWriter, bestK, expGolombBits, fromBase64, readVarint, riceBits, toBase64, varint, zigzag } from './bit-codec';

export { fromBase64, toBase64 };

export const HLL_P = 14;
export const HLL_M = 1 << HLL_P;

/** The shortest encoding of a register array (all HLL_M registers; 0 = unset). */
export function encodeRegisters(regs: Uint8Array): string {
  const hist = new Array<number>(64).fill(0);
  const set: Array<[number, number]> = [];
  for (let i = 0; i < HLL_M; i++) {
    const r = regs[i];
    hist[r]++;
    if (r) set.push([i, r]);
  }
  const sparse = sparseCost(set);
  // The base is near the most common rank; only the ranks present cost anything.
  const ranks = hist.flatMap((n, r) => (n ? [r] : []));
  const mode = ranks.reduce((m, r) => (hist[r] > hist[m] ? r : m), 0);
  let dense = { bits: Infinity, base: 0, k: 0 };
  for (let b = Math.max(0, mode - 2); b <= mode + 2; b++) {
    for (let k = 0; k <= 3; k++) {
      let bits = 0;
      for (const r of ranks) bits += hist[r] * riceBits(zigzag(r - b), k);
      if (bits < dense.bits) dense = { bits, base: b, k };
    }
  }
  if (sparse.bits + 24 <= dense.bits) return writeSparse(set, sparse.k);
  const w = new BitWriter([dense.base, dense.k]);
  for (let i = 0; i < HLL_M; i++) w.rice(zigzag(regs[i] - dense.base), dense.k);
  return `D${toBase64(w.finish())}`;
}

/**
 * The sparse encoding of a few set registers ([index, rank], by index). With at most 1/64 of the
 * registers set it is always the shorter (dense costs at least a bit a register).
 */
export function encodeSparseRegisters(set: Array<[number, number]>): string {
  return writeSparse(set, sparseCost(set).k);
}

function sparseCost(set: Array<[number, number]>): { bits: number; k: number } {
  let rankBits = 0;
  const gaps = set.map(([i, r], n) => {
    rankBits += r;
    return i - (n ? set[n - 1][0] : -1) - 1;
  });
  const best = bestK(gaps, HLL_P, riceBits);
  return { bits: best.bits + rankBits, k: best.k };
}

function writeSparse(set: Array<[number, number]>, k: number): string {
  const header: number[] = [];
  varint(header, set.length);
  header.push(k);
  const w = new BitWriter(header);
  let prev = -1;
  for (const [i, r] of set) {
    w.rice(i - prev - 1, k);
    prev = i;
    for (let u = 1; u < r; u++) w.bit(1);
    w.bit(0);
  }
  return `P${toBase64(w.finish())}`;
}

/** The registers of a stored sketch, any encoding: how many there are (dense: all) and each set one. */
export function storedRegisters(text: string): { count: number; forEach(fn: (idx: number, rank: number) => void): void } {
  const kind = text[0];
  if (kind === 'R') {
    return { count: HLL_M, forEach: (fn) => { for (let i = 0; i < HLL_M; i++) fn(i, text.charCodeAt(i + 1) - 48); } };
  }
  const bytes = fromBase64(text.slice(1));
  if (kind === 'S') {
    return {
      count: Math.floor(bytes.length / 3),
      forEach: (fn) => {
        for (let o = 0; o + 2 < bytes.length; o += 3) {
          const v = (bytes[o] << 16) | (bytes[o + 1] << 8) | bytes[o + 2];
          fn(v >>> 6, v & 63);
        }
      },
    };
  }
  if (kind === 'D' || kind === 'P') {
    const count = kind === 'D' ? HLL_M : Math.min(readVarint(bytes, { i: 0 }), HLL_M);
    if (kind === 'P') return { count, forEach: (fn) => forEachSparse(bytes, fn) };
    return {
      count,
      forEach: (fn) => {
        const regs = new Uint8Array(HLL_M);
        maxInto(text, regs);
        for (let i = 0; i < HLL_M; i++) if (regs[i]) fn(i, regs[i]);
      },
    };
  }
  return { count: 0, forEach: () => {} }; // an unknown encoding counts as empty rather than failing a report
}

/**
 * Raises `regs` to the registers of a "D" or "P" text (a merge), as reports merge hundreds of
 * stored sketches. False for other encodings.
 */
export function maxInto(text: string, regs: Uint8Array): boolean {
  const kind = text[0];
  if (kind !== 'D' && kind !== 'P') return false;
  const s = registerStream(kind, fromBase64(text.slice(1)));
  if (!s) return true;
  const { rd, count, base, k } = s;
  if (kind === 'D') {
    for (let i = 0; i < count && !rd.atEnd; i++) {
      const v = rd.rice(k);
      const rank = base + (v & 1 ? -((v + 1) >>> 1) : v >>> 1);
      if (rank > regs[i]) regs[i] = rank;
    }
    return true;
  }
  for (let n = 0, idx = -1; n < count && !rd.atEnd; n++) {
    idx += rd.rice(k) + 1;
    if (idx >= HLL_M) break;
    const rank = rd.ones() + 1;
    if (rank > regs[idx]) regs[idx] = rank;
  }
  return true;
}

/** The set registers of a "P" stream, in index order, without a register array. */
function forEachSparse(bytes: Uint8Array, fn: (idx: number, rank: number) => void): void {
  const s = registerStream('P', bytes);
  if (!s) return;
  const { rd, count, k } = s;
  for (let n = 0, idx = -1; n < count && !rd.atEnd; n++) {
    idx += rd.rice(k) + 1;
    if (idx >= HLL_M) break;
    fn(idx, rd.ones() + 1);
  }
}

/** A "D" or "P" stream's header, and a reader at its first register (null: a parameter no encoder writes). */
function registerStream(kind: 'D' | 'P', bytes: Uint8Array): { rd: BitReader; count: number; base: number; k: number } | null {
  const at = { i: 0 };
  const count = kind === 'D' ? HLL_M : Math.min(readVarint(bytes, at), HLL_M);
  const base = kind === 'D' ? bytes[at.i++] ?? 0 : 0;
  const k = bytes[at.i++] ?? 0;
  return k > 24 ? null : { rd: new BitReader(bytes, at.i), count, base, k };
}

/**
 * DDSketch positive-store bins from `first` on, as "B" + the summary in decimal + "|" + first + "|" +
 * base64 of: varint count of non-empty bins, Rice parameter for gaps, exp-Golomb order for counts, then per non-empty bin the gap
 * from the previous one (Rice) and count − 1 (exp-Golomb). Still read: the decimal list (no "B").
 */
export function encodeBins(head: string, first: number, counts: number[]): string | null {
  const gaps: number[] = [];
  const values: number[] = [];
  let prev = -1;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!Number.isSafeInteger(c) || c < 0) return null; // weighted counts (never written): the caller keeps decimals
    if (!c) continue;
    gaps.push(i - prev - 1);
    values.push(c - 1);
    prev = i;
  }
  const gk = bestK(gaps, 16, riceBits).k;
  const ck = bestK(values, 40, expGolombBits).k;
  const header: number[] = [];
  varint(header, gaps.length);
  header.push(gk, ck);
  const w = new BitWriter(header);
  gaps.forEach((g, i) => {
    w.rice(g, gk);
    w.expGolomb(values[i], ck);
  });
  return `B${head}|${first}|${toBase64(w.finish())}`;
}

/** The bins of a "B" encoding (after the second "|"): calls fn(offset from first, count). */
export function forEachBin(b64: string, fn: (offset: number, count: number) => void): void {
  const bytes = fromBase64(b64);
  const at = { i: 0 };
  const count = readVarint(bytes, at);
  const gk = bytes[at.i++] ?? 0;
  const ck = bytes[at.i++] ?? 0;
  const rd = new BitReader(bytes, at.i);
  let offset = -1;
  for (let n = 0; n < count && !rd.exhausted; n++) {
    offset += rd.rice(gk) + 1;
    fn(offset, rd.expGolomb(ck) + 1);
  }
}
