/** Bit-level coding under the sketch encodings: base64 text, MSB-first bit streams, Rice, exp-Golomb and varint codes. */

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    return new Uint8Array(0); // not base64 (none is written so): an empty sketch rather than a failed report
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class BitWriter {
  private readonly bytes: number[] = [];
  private cur = 0;
  private n = 0;

  constructor(header: number[]) {
    this.bytes.push(...header);
  }

  bit(b: number): void {
    this.cur = (this.cur << 1) | b;
    if (++this.n === 8) {
      this.bytes.push(this.cur);
      this.cur = 0;
      this.n = 0;
    }
  }

  rice(v: number, k: number): void {
    for (let q = v >>> k; q > 0; q--) this.bit(1);
    this.bit(0);
    for (let i = k - 1; i >= 0; i--) this.bit((v >>> i) & 1);
  }

  /** v ≥ 0 up to 2^53 (counts): nbits − k zeros, then v + 2^k in nbits + 1 bits. */
  expGolomb(v: number, k: number): void {
    const w = v + 2 ** k;
    const nbits = Math.floor(Math.log2(w));
    for (let i = k; i < nbits; i++) this.bit(0);
    for (let i = nbits; i >= 0; i--) this.bit(Math.floor(w / 2 ** i) % 2);
  }

  finish(): Uint8Array {
    if (this.n) this.bytes.push(this.cur << (8 - this.n));
    return Uint8Array.from(this.bytes);
  }
}

/**
 * Reads bits MSB first, 32 at a time where it can (a unary run is a count of leading bits with
 * Math.clz32, not a loop over them); past the end it reads zeros, so a truncated text cannot loop forever.
 */
export class BitReader {
  private readonly size: number;

  private pos: number;

  constructor(private readonly bytes: Uint8Array, startByte: number) {
    this.pos = startByte * 8;
    this.size = bytes.length * 8;
  }

  /** Read past the last bit. */
  get exhausted(): boolean {
    return this.pos > this.size;
  }

  /** Every bit read. */
  get atEnd(): boolean {
    return this.pos >= this.size;
  }

  /** The 32 bits from the position on. */
  private peek(): number {
    const b = this.bytes;
    const i = this.pos >>> 3;
    const word = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3] | 0) >>> 0;
    const shift = this.pos & 7;
    return shift ? ((word << shift) | (b[i + 4] >>> (8 - shift))) >>> 0 : word;
  }

  bit(): number {
    const p = this.pos++;
    return p < this.size ? (this.bytes[p >>> 3] >>> (7 - (p & 7))) & 1 : 0;
  }

  /** n bits as a number (n up to 53). */
  bits(n: number): number {
    if (n <= 24) {
      if (n === 0) return 0;
      const v = this.peek() >>> (32 - n);
      this.pos += n;
      return v;
    }
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  /** A run of ones and the zero that ends it: the run's length. */
  ones(): number {
    let n = 0;
    for (;;) {
      if (this.pos >= this.size) {
        this.pos++;
        return n;
      }
      // Past the end peek() reads zeros, so a run never reaches beyond it.
      const run = Math.clz32(~this.peek());
      n += run;
      this.pos += run;
      if (run < 32) {
        this.pos++;
        return n;
      }
    }
  }

  expGolomb(k: number): number {
    let zeros = 0;
    for (;;) {
      const run = Math.clz32(this.peek());
      zeros += run;
      this.pos += run;
      if (run < 32) break;
      if (zeros > 60 || this.pos > this.size) return 0;
    }
    this.pos++;
    if (zeros > 60 || this.pos > this.size) return 0;
    const n = zeros + k;
    return n <= 24 ? (1 << n) + this.bits(n) - (1 << k) : 2 ** n + this.bits(n) - 2 ** k;
  }

  /** k ≤ 24 (every encoder's parameter is). */
  rice(k: number): number {
    const q = this.ones();
    if (k === 0) return q;
    const r = this.peek() >>> (32 - k);
    this.pos += k;
    return q * (1 << k) + r;
  }
}

export const zigzag = (v: number) => (v >= 0 ? 2 * v : -2 * v - 1);
export const riceBits = (v: number, k: number) => Math.floor(v / 2 ** k) + 1 + k;

export function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

export function readVarint(bytes: Uint8Array, at: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = bytes[at.i++];
    if (b === undefined) return v;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
}

export const expGolombBits = (v: number, k: number) => 2 * Math.floor(Math.log2(v + 2 ** k)) - k + 1;

/** Cheapest parameter for these values among the few around log2 of their mean (where the optimum lies). */
export function bestK(values: number[], max: number, cost: (v: number, k: number) => number): { k: number; bits: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const guess = Math.floor(Math.log2(sum / Math.max(1, values.length) + 1));
  let best = { k: 0, bits: Infinity };
  for (let k = Math.max(0, guess - 2); k <= Math.min(max, guess + 1); k++) {
    let bits = 0;
    for (const v of values) bits += cost(v, k);
    if (bits < best.bits) best = { k, bits };
  }
  return best;
}
