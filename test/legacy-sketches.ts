// The sketch encodings written before issue 11 ("S"/"R" HyperLogLog, decimal DDSketch bins), re-created
// from a sketch's registers and bins: existing installations' rollup rows hold them and must still merge.
import type { DDSketch } from '@datadog/sketches-js';
import { HLL_M, storedRegisters, toBase64 } from '../src/history/sketch-codec';
import type { HyperLogLog } from '../src/history/sketches';

export function legacyEncodeHll(h: HyperLogLog): string {
  const regs = new Uint8Array(HLL_M);
  storedRegisters(h.encode()).forEach((i, r) => (regs[i] = r));
  const set = regs.reduce((n, r) => n + (r ? 1 : 0), 0);
  if (set > 4096) return `R${String.fromCharCode(...Array.from(regs, (r) => 48 + r))}`;
  const bytes = new Uint8Array(set * 3);
  let o = 0;
  regs.forEach((r, i) => {
    if (!r) return;
    const v = (i << 6) | r;
    bytes[o++] = v >>> 16;
    bytes[o++] = (v >>> 8) & 0xff;
    bytes[o++] = v & 0xff;
  });
  return `S${toBase64(bytes)}`;
}

export function legacyEncodeDurations(s: DDSketch): string | null {
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
  return `${s.zeroCount},${s.count},${s.sum},${s.min},${s.max}|${Number.isNaN(first) ? 0 : first}|${counts.join(',')}`;
}
