import type { NormalizedEvent } from '../src/ingest/types';

/** A seeded PRNG (mulberry32): the same events in workerd and in Node. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['page_view', 'click', 'join', 'leave', 'message', 'error', 'purchase', 'signup', 'api_call', 'heartbeat'];
const COUNTRIES = Array.from({ length: 40 }, (_, i) => String.fromCharCode(65 + (i % 26)) + String.fromCharCode(65 + ((i * 7) % 26)));
const PLATFORMS = ['web', 'ios', 'android', 'server'];
const OSES = ['Windows', 'macOS', 'Linux', 'iOS', 'Android'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const CONNECTIONS = ['udp', 'tcp', 'turn'];
const PLANS = ['free', 'pro', 'team'];

/** The id shape normalize gives an event sent without one: 9 base-36 time chars + 20 hex. */
function eventId(ts: number, r: () => number): string {
  let hex = '';
  for (let i = 0; i < 20; i++) hex += Math.floor(r() * 16).toString(16);
  return ts.toString(36).padStart(9, '0') + hex;
}

/**
 * `n` realistic events over [start, start + spanMs): 20,000 users, 10 types, 50 rooms, 40 countries,
 * a few properties, latency on some, bytes on joins, value on purchases, gauges on heartbeats.
 */
export function realisticEvents(n: number, start: number, spanMs: number, seed = 1): NormalizedEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const events: NormalizedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ts = start + Math.floor(r() * spanMs);
    const type = pick(TYPES);
    const user = Math.floor(r() * 20_000);
    const platform = pick(PLATFORMS);
    events.push({
      id: eventId(ts, r),
      type,
      ts,
      receivedAt: ts + Math.floor(r() * 2000),
      userId: `user-${user}`,
      sessionId: `s-${user}-${Math.floor(r() * 3)}`,
      room: r() < 0.8 ? `room-${Math.floor(r() * 50)}` : null,
      durationMs: type === 'api_call' || type === 'page_view' ? Math.round(r() * 2000 * 10) / 10 : null,
      bytesIn: type === 'join' || type === 'leave' ? Math.floor(r() * 5_000_000) : null,
      bytesOut: type === 'join' || type === 'leave' ? Math.floor(r() * 5_000_000) : null,
      error: type === 'error' ? pick(['timeout', 'ECONNRESET', 'ice failed']) : null,
      value: type === 'purchase' ? Math.round(r() * 10_000) / 100 : null,
      properties: { plan: PLANS[user % 3]!, page: `/p/${Math.floor(r() * 30)}`, ...(r() < 0.3 ? { ab: r() < 0.5 } : {}) },
      context: {
        country: COUNTRIES[user % 40]!,
        platform,
        os: OSES[user % 5]!,
        browser: platform === 'web' ? BROWSERS[user % 4]! : undefined,
        device: DEVICES[user % 3]!,
        sdk: 'edgepulse-js@1.2.0',
        ...(type === 'join' ? { connectionType: pick(CONNECTIONS) } : {}),
      } as NormalizedEvent['context'],
      ...(type === 'heartbeat' ? { gauges: { cpu: Math.round(r() * 100) / 100, mem: Math.floor(r() * 4096) } } : {}),
    });
  }
  // No undefined values in context: the archive (like JSON) drops them.
  for (const e of events) for (const k of Object.keys(e.context) as (keyof NormalizedEvent['context'])[]) if (e.context[k] === undefined) delete e.context[k];
  return events;
}

/** Events carrying every field at its extremes: nulls, unicode, JSON, the API's numeric bounds. */
export function extremeEvents(start: number): NormalizedEvent[] {
  const base: NormalizedEvent = {
    id: 'all-null', type: 'minimal', ts: start, receivedAt: start, userId: null, sessionId: null, room: null,
    durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {},
  };
  return [
    base,
    {
      ...base, id: 'full_1', type: 'Ünïcødé ✓ 事件', ts: start + 1, receivedAt: start + 2,
      userId: 'ユーザー👩‍💻', sessionId: 'sess"quote\\back', room: 'room:a@b.c-d_e',
      durationMs: 1e10, bytesIn: 2 ** 53 - 1, bytesOut: 0, error: 'Fehler: “x” \n line2', value: 1e15,
      properties: { s: 'ß😀', n: -0.5, big: 1e15, t: true, f: false, nil: null, 'key with space': '' },
      context: {
        country: 'DE', platform: 'web', os: 'Linux', browser: 'Firefox', device: 'desktop', connectionType: 'turn',
        sdk: 'js@1', url: 'https://ex.am/ple?q=ü&x=1#f', referrer: 'https://ref', userAgent: 'Mozilla/5.0 (X11) 🦊',
      },
      gauges: { cpu: 0.73, 'mem.used:MB': 1e15, neg: -1e15 },
    },
    {
      ...base, id: 'min_bounds', type: 'bounds', ts: start + 3_600_000 - 1, receivedAt: start + 3_600_000 + 500,
      durationMs: 0, bytesIn: 0, bytesOut: 2 ** 53 - 1, value: -1e15, gauges: {}, properties: { only: null },
      context: { url: 'https://only-url' },
    },
    { ...base, id: 'tiny', type: 't', ts: start + 5, receivedAt: start + 5, durationMs: 1e-3, value: Number.MIN_VALUE, userId: 'u' },
  ];
}
