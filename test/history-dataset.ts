import { mirrorArchiveForSql } from './archived';
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { call, flush, type TestWorkspace } from './helpers';

/** Deterministic PRNG (mulberry32) so the dataset is the same every run. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Local midnight of the first day of the month holding `at`, in `tz` (found by walking back days). */
export function monthStartBefore(at: number, tz: string): number {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, day: 'numeric', hour: 'numeric', hourCycle: 'h23', minute: 'numeric' });
  let t = at;
  for (let i = 0; i < 40; i++) {
    const p = Object.fromEntries(fmt.formatToParts(t).map((x) => [x.type, Number(x.value)]));
    if (p.day === 1) return t - (p.hour * HOUR + p.minute * 60_000) - (t % 60_000);
    t -= DAY;
  }
  throw new Error('no month start');
}

export interface Dataset {
  events: Array<Record<string, unknown>>;
  from: number;
  to: number;
  monthStart: number;
}

/**
 * A known dataset: several types, rooms, users, errors and contexts, clustered around a local
 * month boundary (and so a local midnight) 1–4 weeks ago and over the last day (minute rollups).
 */
export function makeDataset(tz: string, now: number, n = 2400): Dataset {
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const monthStart = monthStartBefore(now - 8 * DAY, tz);
  const types = ['page.view', 'message.sent', 'api.call', 'file.uploaded', 'Order Completed'];
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    // Half around the month boundary (±30 h), half over the last 20 h.
    const ts = i % 2 === 0 ? monthStart - 30 * HOUR + Math.floor(r() * 60 * HOUR) : now - 20 * HOUR + Math.floor(r() * 20 * HOUR - 60_000);
    const type = pick(types);
    const e: Record<string, unknown> = {
      id: `ds-${i}`,
      type,
      timestamp: ts,
      userId: r() < 0.9 ? `user-${Math.floor(r() * r() * 180)}` : undefined,
      sessionId: r() < 0.8 ? `s-${Math.floor(r() * 400)}` : undefined,
      room: r() < 0.6 ? pick(['standup', 'lobby', 'town-hall']) : undefined,
      durationMs: type === 'api.call' || r() < 0.3 ? Math.round(Math.exp(2 + r() * 5) * 100) / 100 : undefined,
      bytesIn: r() < 0.5 ? Math.floor(r() * 5000) : undefined,
      bytesOut: r() < 0.5 ? Math.floor(r() * 90000) : undefined,
      error: r() < 0.07 ? pick(['timeout', 'crash', 'quota exceeded']) : undefined,
      value: r() < 0.4 ? Math.floor(r() * 300) : undefined,
      properties: r() < 0.7 ? { plan: pick(['free', 'pro', 'team']), model: pick(['a, "quoted"', 'b\nline', 'c']) } : { n: 3 },
      context: {
        country: pick(['DE', 'US', 'IN', 'BR']),
        platform: pick(['Web', 'iOS', 'Android']),
        device: pick(['desktop', 'mobile']),
        browser: pick(['Chrome', 'Safari', 'Firefox']),
        os: pick(['macOS', 'Windows', 'iOS 18']),
      },
    };
    events.push(Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
  }
  return { events, from: monthStart - 30 * HOUR, to: now, monthStart };
}

/** POSTs in batches of 500, draining after each so rollups merge across several drains; then mirrors the archive for SQL oracles. */
export async function load(ws: TestWorkspace, events: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: events.slice(i, i + 500) } });
    expect(res.status).toBe(202);
    if ((i / 500) % 2 === 1) expect(await flush(ws)).toBe(0);
  }
  expect(await flush(ws)).toBe(0);
  // The SQL oracles below read raw events from a table: the archive's rows, copied there.
  await mirrorArchiveForSql(ws.id);
}

export async function sql<T = Record<string, unknown>>(query: string, ...binds: unknown[]): Promise<T[]> {
  return (await env.DB.prepare(query).bind(...binds).all<T>()).results;
}

/** Value at rank floor(q·(n−1)) of the sorted values: the rank DDSketch estimates. */
export function exactQuantile(sorted: number[], q: number): number | null {
  return sorted.length ? sorted[Math.floor(q * (sorted.length - 1))] : null;
}

export function expectWithin(actual: number | null, exact: number | null, rel: number, what: string): void {
  if (exact === null || exact === 0) {
    expect(actual, what).toBe(exact);
    return;
  }
  expect(actual, what).not.toBeNull();
  expect(Math.abs(actual! - exact) / Math.abs(exact), `${what}: ${actual} vs ${exact}`).toBeLessThanOrEqual(rel + 1e-9);
}
