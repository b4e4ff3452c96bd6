import { beforeAll, describe, expect, it } from 'vitest';
import { startOfDay } from '../src/history/range';
import { call, createWorkspace, flush, type TestWorkspace } from './helpers';

interface Stored {
  id: string;
  type: string;
  timestamp: string;
  receivedAt: string;
  userId: string | null;
  room: string | null;
  error: string | null;
}

/** 250 events over 50 distinct seconds (five share each timestamp, so ties need the tiebreak). */
const BASE = Date.now() - 60_000;
const SEED = Array.from({ length: 250 }, (_, i) => ({
  id: `r-${String(i).padStart(3, '0')}`,
  type: i % 2 ? 'b.view' : 'a.click',
  timestamp: BASE - Math.floor(i / 5) * 1000,
  userId: `u${i % 7}`,
  ...(i % 3 === 0 ? { room: 'r1' } : {}),
  ...(i % 10 === 0 ? { error: 'timeout' } : {}),
  ...(i % 4 === 0 ? { context: { country: 'DE', platform: 'iOS', device: 'mobile', browser: 'Safari', os: 'iOS 18' } } : {}),
}));

describe('GET /workspaces/{ws}/events', () => {
  let ws: TestWorkspace;
  const list = (query = '', w = ws) => call('GET', `/api/v1/workspaces/${w.slug}/events${query ? `?${query}` : ''}`, { token: w.keys.read });

  /** Follows nextCursor to the end; returns every page. */
  async function pages(query: string, w = ws): Promise<Stored[][]> {
    const out: Stored[][] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, w);
      expect(res.status, res.text).toBe(200);
      out.push(res.json.events);
      cursor = res.json.nextCursor;
      expect(out.length).toBeLessThan(100);
    } while (cursor);
    return out;
  }
  const all = async (query: string) => (await pages(`limit=1000&${query}`)).flat();

  beforeAll(async () => {
    ws = await createWorkspace('read');
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: SEED } });
    expect(res.json).toEqual({ accepted: 250, duplicates: 0 });
    // Noise in another workspace must never show up here.
    const other = await createWorkspace('read-other');
    await call('POST', `/api/v1/workspaces/${other.slug}/events`, { token: other.keys.ingest, body: { events: SEED.slice(0, 50).map((e) => ({ ...e, id: `o-${e.id}` })) } });
    await flush(ws);
    await flush(other);
  });

  it('pages through 250 events with limit=100: newest first, each exactly once', async () => {
    const got = await pages('limit=100');
    expect(got.map((p) => p.length)).toEqual([100, 100, 50]);
    const flat = got.flat();
    expect(new Set(flat.map((e) => e.id)).size).toBe(250);
    expect(flat.map((e) => e.id).sort()).toEqual(SEED.map((e) => e.id).sort());
    const times = flat.map((e) => Date.parse(e.timestamp));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
    expect(flat[0].timestamp).toBe(new Date(BASE).toISOString());
  });

  it('answers the stored event in full', async () => {
    const [first] = (await list('limit=1&type=a.click&room=r1&errorsOnly=true')).json.events;
    expect(first).toMatchObject({ id: 'r-000', type: 'a.click', userId: 'u0', room: 'r1', error: 'timeout', sessionId: null, durationMs: null, properties: {} });
    expect(first.timestamp).toBe(new Date(BASE).toISOString());
    expect(Date.parse(first.receivedAt)).toBeGreaterThan(BASE);
  });

  it('defaults to 100 a page', async () => {
    const res = await list();
    expect(res.json.events).toHaveLength(100);
    expect(typeof res.json.nextCursor).toBe('string');
  });

  it.each([
    ['type=a.click', (e: (typeof SEED)[number]) => e.type === 'a.click'],
    ['userId=u3', (e: (typeof SEED)[number]) => e.userId === 'u3'],
    ['room=r1', (e: (typeof SEED)[number]) => 'room' in e],
    ['errorsOnly=true', (e: (typeof SEED)[number]) => 'error' in e],
    ['errorsOnly=1', (e: (typeof SEED)[number]) => 'error' in e],
    ['errorsOnly=false', () => true],
    [`from=${new Date(BASE - 20_000).toISOString()}&to=${new Date(BASE - 10_000).toISOString()}`, (e: (typeof SEED)[number]) => e.timestamp >= BASE - 20_000 && e.timestamp < BASE - 10_000],
    [`from=${BASE - 20_000}&to=${BASE - 10_000}`, (e: (typeof SEED)[number]) => e.timestamp >= BASE - 20_000 && e.timestamp < BASE - 10_000],
    [`from=${BASE - 5_000}`, (e: (typeof SEED)[number]) => e.timestamp >= BASE - 5_000],
    [`to=${BASE - 45_000}`, (e: (typeof SEED)[number]) => e.timestamp < BASE - 45_000],
    ['type=b.view&room=r1&userId=u3', (e: (typeof SEED)[number]) => e.type === 'b.view' && 'room' in e && e.userId === 'u3'],
    ['type=no.such', () => false],
    ['country=DE', (e: (typeof SEED)[number]) => 'context' in e],
    ['platform=iOS&device=mobile&browser=Safari&os=iOS%2018', (e: (typeof SEED)[number]) => 'context' in e],
    ['country=DE&room=r1&errorsOnly=true', (e: (typeof SEED)[number]) => 'context' in e && 'room' in e && 'error' in e],
    ['country=FR', () => false],
  ])('filters %s', async (query, keep) => {
    const want = SEED.filter(keep).map((e) => e.id).sort();
    expect(want.length).toBeLessThan(251);
    const got = await all(query);
    expect(got.map((e) => e.id).sort()).toEqual(want);
  });

  it('pages a filtered list with small pages, each event once', async () => {
    const got = await pages('type=a.click&limit=30');
    expect(got.slice(0, -1).every((p) => p.length === 30)).toBe(true);
    const ids = got.flat().map((e) => e.id);
    expect(new Set(ids).size).toBe(125);
    expect(ids.sort()).toEqual(SEED.filter((e) => e.type === 'a.click').map((e) => e.id).sort());
  });

  it('keeps a cursor stable while newer events arrive', async () => {
    const first = await list('limit=100');
    const seen = new Set<string>(first.json.events.map((e: Stored) => e.id));
    await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: [{ id: 'late-1', type: 'a.click' }] } });
    await flush(ws);
    let cursor = first.json.nextCursor;
    while (cursor) {
      const next = await list(`limit=100&cursor=${encodeURIComponent(cursor)}`);
      for (const e of next.json.events as Stored[]) {
        expect(seen.has(e.id), e.id).toBe(false);
        seen.add(e.id);
      }
      cursor = next.json.nextCursor;
    }
    expect(seen.size).toBe(250);
    expect(seen.has('late-1')).toBe(false);
    expect((await list('limit=1')).json.events[0].id).toBe('late-1');
  });

  it.each([
    ['cursor=not-a-cursor!!', 'cursor'],
    [`cursor=${btoa('x.y')}`, 'cursor'],
    [`cursor=${btoa('12345')}`, 'cursor'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=ten', 'limit'],
    ['from=not-a-time', 'from'],
    ['to=2026-13-45', 'to'],
    ['range=forever', 'range'],
    ['errorsOnly=maybe', 'errorsOnly'],
  ])('refuses %s with 400', async (query, path) => {
    const res = await list(query);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.issues.map((i: { path: string }) => i.path)).toContain(path);
  });
});

describe('GET …/events range rules', () => {
  it('answers 400 for range together with from/to and for from not before to, as the reports do', async () => {
    const ws = await createWorkspace('events-range-rules');
    const base = `/api/v1/workspaces/${ws.slug}/events`;
    for (const q of ['range=7d&from=1763856000000', 'range=24h&to=2026-11-23T00:00:00Z', 'from=1763856000000&to=1763856000000', 'from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z']) {
      const res = await call('GET', `${base}?${q}`, { token: ws.keys.read });
      expect(res.status, q).toBe(400);
      expect(res.json.error.code, q).toBe('invalid_request');
    }
    for (const q of ['', 'from=1763856000000', 'to=2026-11-23T00:00:00Z', 'range=7d']) {
      expect((await call('GET', `${base}?${q}`, { token: ws.keys.read })).status, q).toBe(200);
    }
  });
});

describe('GET …/events with range', () => {
  it('resolves today, yesterday, 24h, 7d, 30d and 90d in the workspace’s time zone', async () => {
    const ws = await createWorkspace('range', { timezone: 'America/New_York' });
    const now = Date.now();
    const H = 3_600_000;
    const D = 24 * H;
    const at = { h1: now - H, h20: now - 20 * H, d2: now - 2 * D, d10: now - 10 * D, d40: now - 40 * D, d100: now - 100 * D };
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      body: { events: Object.entries(at).map(([id, timestamp]) => ({ id, type: 'range.test', timestamp })) },
    });
    expect(res.status).toBe(202);
    await flush(ws);
    const today = startOfDay(now, 'America/New_York');
    const yesterday = startOfDay(today - H, 'America/New_York');
    const expected: Record<string, string[]> = {
      '24h': ['h1', 'h20'],
      '7d': ['h1', 'h20', 'd2'],
      '30d': ['h1', 'h20', 'd2', 'd10'],
      '90d': ['h1', 'h20', 'd2', 'd10', 'd40'],
      today: Object.entries(at).filter(([, t]) => t >= today).map(([id]) => id),
      yesterday: Object.entries(at).filter(([, t]) => t >= yesterday && t < today).map(([id]) => id),
    };
    for (const [range, ids] of Object.entries(expected)) {
      const got = await call('GET', `/api/v1/workspaces/${ws.slug}/events?range=${range}&limit=1000`, { token: ws.keys.read });
      expect(got.status).toBe(200);
      expect(got.json.events.map((e: Stored) => e.id).sort(), range).toEqual([...ids].sort());
    }
  });
});
