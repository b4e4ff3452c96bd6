import type { NormalizedEvent } from '../src/ingest/types';
import { rng } from './history-dataset';

/** One busy hour: `n` events from `users` users over 10 types, 50 rooms, 40 countries, 3 platforms, 6 browsers, 5 OSes. */
export function busyHour(start: number, n = 100_000, users = 20_000): NormalizedEvent[] {
  const r = rng(7);
  const pick = (k: number) => Math.floor(r() * k);
  const out: NormalizedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const u = pick(users);
    const ts = start + Math.floor((i / n) * 3_600_000);
    out.push({
      id: `bh-${i}`, type: `type-${pick(10)}`, ts, receivedAt: ts, userId: `user-${u}`, sessionId: `s-${u}-${pick(3)}`,
      room: r() < 0.7 ? `room-${pick(50)}` : null, durationMs: r() < 0.5 ? Math.round(Math.exp(1 + r() * 8) * 10) / 10 : null,
      bytesIn: pick(5000), bytesOut: null, error: r() < 0.03 ? `E${pick(5)}` : null, value: r() < 0.2 ? pick(100) : null, properties: {},
      context: { country: `C${pick(40)}`, platform: ['web', 'ios', 'android'][pick(3)], device: ['desktop', 'mobile', 'tablet'][pick(3)], browser: `B${pick(6)}`, os: `OS${pick(5)}` },
    });
  }
  return out;
}
