import { describe, expect, it } from 'vitest';
import { decodeDurations, encodeDurations, HyperLogLog, mergeEncodedDurations, newDurations, quantile } from '../src/history/sketches';
import { storedRegisters } from '../src/history/sketch-codec';
import { rng } from './history-dataset';

describe('sketches', () => {
  it('HyperLogLog: within 2% from 10 to 200,000 uniques, through encode/decode (sparse and dense) and merges', () => {
    for (const n of [10, 1000, 5000, 50_000, 200_000]) {
      const a = new HyperLogLog();
      const b = new HyperLogLog();
      // Two overlapping halves: the merge counts the union once.
      for (let i = 0; i < n * 0.6; i++) a.add(`user-${i}`);
      for (let i = Math.floor(n * 0.4); i < n; i++) b.add(`user-${i}`);
      const encA = a.encode();
      expect(encA[0]).toBe(n * 0.6 > 4096 ? 'D' : 'P');
      const merged = HyperLogLog.decode(encA).merge(HyperLogLog.decode(b.encode()));
      const est = merged.estimate();
      expect(Math.abs(est - n) / n, `n=${n} est=${est}`).toBeLessThanOrEqual(0.02);
      expect(HyperLogLog.decode(merged.encode()).estimate()).toBe(est);
      // Merging the same sketch again changes nothing (idempotent).
      expect(merged.merge(HyperLogLog.decode(encA)).estimate()).toBe(est);
    }
    expect(new HyperLogLog().isEmpty()).toBe(true);
    // Merging encoded text straight in equals decoding first, for sparse and dense encodings.
    const small = new HyperLogLog();
    const big = new HyperLogLog();
    for (let i = 0; i < 300; i++) small.add(`s${i}`);
    for (let i = 0; i < 30_000; i++) big.add(`b${i}`);
    for (const [x, y] of [[small, big], [big, small], [small, small]]) {
      const viaDecode = HyperLogLog.decode(x.encode()).merge(HyperLogLog.decode(y.encode()));
      const direct = new HyperLogLog().mergeEncoded(x.encode()).mergeEncoded(y.encode());
      expect(direct.encode()).toBe(viaDecode.encode());
    }
  });

  it('HyperLogLog: every stored sketch decodes to exactly its registers; cut or garbled text decodes to at most them, never an error', () => {
    // Sizes across the sparse and dense encodings and their Rice parameters (0 to 8).
    for (const n of [1, 3, 40, 257, 900, 3000, 9000, 40_000, 150_000, 2_000_000]) {
      const h = new HyperLogLog();
      for (let i = 0; i < n; i++) h.add(`r${n}-${i}`);
      const text = h.encode();
      expect(HyperLogLog.decode(text).encode(), `n=${n}`).toBe(text);
      let set = 0;
      storedRegisters(text).forEach(() => set++);
      for (const cut of [1, 2, 5, 9, Math.floor(text.length / 2), text.length - 4]) {
        if (cut < 1 || cut >= text.length) continue;
        const part = text.slice(0, cut - (cut % 4) || 1);
        let partSet = 0;
        storedRegisters(part).forEach(() => partSet++);
        expect(partSet, `n=${n} cut at ${cut}`).toBeLessThanOrEqual(set);
        expect(HyperLogLog.decode(part).estimate()).toBeLessThanOrEqual(h.estimate() * 1.05 + 5);
      }
    }
    // A Rice parameter no encoder writes, and text that is not base64: empty, not an error.
    expect(HyperLogLog.decode(`D${btoa(String.fromCharCode(3, 200, 255, 255))}`).isEmpty()).toBe(true);
    expect(HyperLogLog.decode('P!!not base64!!').isEmpty()).toBe(true);
    expect(HyperLogLog.decode('X123').isEmpty()).toBe(true);
  });

  it('HyperLogLog: no bias where linear counting used to hand over (about 40,000 uniques)', () => {
    // The classic estimator overcounted here by about 2.5% on average; Ertl's stays within 1%.
    for (const n of [30_000, 40_000, 50_000]) {
      let sum = 0;
      for (let t = 0; t < 6; t++) {
        const h = new HyperLogLog();
        for (let i = 0; i < n; i++) h.add(`set${t}-${i}`);
        sum += h.estimate() / n - 1;
      }
      expect(Math.abs(sum / 6), `n=${n}: mean relative error`).toBeLessThan(0.01);
    }
  });

  it('DDSketch: p50/p95/p99 within 1% after encode/decode and merge', () => {
    const r = rng(3);
    const values: number[] = [];
    const parts = [newDurations(), newDurations(), newDurations()];
    for (let i = 0; i < 30_000; i++) {
      const v = i % 97 === 0 ? 0 : Math.exp(r() * 9) / 3;
      values.push(v);
      parts[i % 3].accept(v);
    }
    const merged = newDurations();
    for (const p of parts) merged.merge(decodeDurations(encodeDurations(p)));
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = values[Math.floor(q * (values.length - 1))];
      expect(Math.abs(quantile(merged, q)! - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    expect(merged.count).toBe(30_000);
    const direct = newDurations();
    for (const p of parts) mergeEncodedDurations(direct, encodeDurations(p));
    expect(encodeDurations(direct)).toBe(encodeDurations(merged));
    expect(encodeDurations(newDurations())).toBeNull();
    // Cut text reads as fewer (or no) bins, never an error or a loop.
    const text = encodeDurations(merged)!;
    for (let cut = text.lastIndexOf('|') + 1; cut < text.length; cut += 7) {
      expect(mergeEncodedDurations(newDurations(), text.slice(0, cut)).store.count).toBeLessThanOrEqual(30_000);
    }
  });
});
