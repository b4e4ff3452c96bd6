import { parse } from 'csv-parse/sync';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { load, makeDataset, sql, type Dataset } from './history-dataset';

const TZ = 'Asia/Kolkata';
let ws: TestWorkspace;
let other: TestWorkspace;
let ds: Dataset;
const now = Date.now();

async function storedEvents(from: number, to: number) {
  const all: Array<Record<string, unknown>> = [];
  let cursor = '';
  do {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/events?from=${from}&to=${to}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    all.push(...res.json.events);
    cursor = res.json.nextCursor ?? '';
  } while (cursor);
  return all.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.id).localeCompare(String(b.id)));
}

const byTime = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.timestamp).localeCompare(String(b.timestamp)) || String(a.id).localeCompare(String(b.id));

describe('export and Prometheus metrics', () => {
  beforeAll(async () => {
    ws = await createWorkspace('exp', { timezone: TZ });
    other = await createWorkspace('exp-other');
    ds = makeDataset(TZ, now, 2300);
    ds.events[1] = { ...ds.events[1], type: 'api.call', error: 'line one\r\nline two, "quoted"' };
    await load(ws, ds.events);
    await load(other, makeDataset('UTC', now, 100).events.map((e) => ({ ...e, type: 'other.workspace' })));
  }, 120_000);

  it('NDJSON parses back line by line into exactly the stored events', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/export?format=ndjson&from=${ds.from}&to=${now}`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="exp-.*\.ndjson"$/);
    const lines = res.text.split('\n');
    expect(lines.pop()).toBe('');
    const exported = lines.map((l) => JSON.parse(l));
    expect(exported).toHaveLength(2300);
    expect([...exported].sort(byTime)).toEqual(await storedEvents(ds.from, now));
    // Oldest first.
    const times = exported.map((e) => e.timestamp);
    expect(times).toEqual([...times].sort());
  });

  it('CSV (RFC 4180, header row, properties as JSON) parses back into the stored events', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/export?format=csv&from=${ds.from}&to=${now}&type=api.call`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/\.csv"$/);
    const records = parse(res.text, { columns: true, relax_quotes: false }) as Array<Record<string, string>>;
    expect(res.text.split('\r\n')[0]).toBe('id,type,timestamp,receivedAt,userId,sessionId,room,durationMs,bytesIn,bytesOut,error,value,properties,context');
    const num = (s: string) => (s === '' ? null : Number(s));
    const txt = (s: string) => (s === '' ? null : s);
    const back = records.map((r) => ({
      id: r.id, type: r.type, timestamp: r.timestamp, receivedAt: r.receivedAt, userId: txt(r.userId), sessionId: txt(r.sessionId), room: txt(r.room),
      durationMs: num(r.durationMs), bytesIn: num(r.bytesIn), bytesOut: num(r.bytesOut), error: txt(r.error), value: num(r.value),
      properties: JSON.parse(r.properties), context: JSON.parse(r.context),
    }));
    const stored = (await storedEvents(ds.from, now)).filter((e) => e.type === 'api.call');
    expect(back.length).toBe(stored.length);
    expect(back.sort(byTime)).toEqual(stored);
    // Fields holding commas, quotes and line breaks are quoted, quotes doubled (RFC 4180).
    expect(res.text).toContain('"line one\r\nline two, ""quoted"""');
  });

  it('exports three keyset pages (1,000 rows each) without losing or repeating rows, and no other workspace', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/export?format=ndjson&from=${ds.from}&to=${now}`, { token: ws.keys.read });
    const ids = res.text.trim().split('\n').map((l) => JSON.parse(l).id);
    expect(new Set(ids).size).toBe(ids.length);
    const [{ n }] = await sql<{ n: number }>('SELECT count(*) AS n FROM events WHERE workspace_id = ?', other.id);
    expect(n).toBe(100);
    expect(ids.some((id) => String(id).startsWith('other'))).toBe(false);
  });

  it('/metrics parses as Prometheus text and its counters equal the summary', async () => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/metrics`, { token: ws.keys.read });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(res.text) as Array<{ name: string; type: string; metrics: Array<any> }>;
    const fam = (name: string) => families.find((f) => f.name === name)!;
    const summary = (await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?from=946684800000&to=${Date.now() + 1}`, { token: ws.keys.read })).json;
    const byType = (await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?by=type&from=946684800000&to=${Date.now() + 1}&limit=100`, { token: ws.keys.read })).json;
    expect(fam('edgepulse_events_total').type).toBe('COUNTER');
    const events = fam('edgepulse_events_total').metrics;
    expect(events.reduce((s, m) => s + Number(m.value), 0)).toBe(summary.events);
    expect(Object.fromEntries(events.map((m) => [m.labels.type, Number(m.value)]))).toEqual(Object.fromEntries(byType.rows.map((r: any) => [r.key, r.events])));
    const errors = fam('edgepulse_errors_total').metrics;
    expect(errors.reduce((s, m) => s + Number(m.value), 0)).toBe(summary.errors);
    expect(Number(fam('edgepulse_bytes_in_total').metrics[0].value)).toBe(summary.bytesIn);
    // Gauges come from the live hub: the same figures as its JSON snapshot.
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(live.status).toBe(200);
    expect(fam('edgepulse_online_users').type).toBe('GAUGE');
    expect(Number(fam('edgepulse_online_users').metrics[0].value)).toBe(live.json.data.onlineUsers);
    expect(live.json.data.onlineUsers).toBeGreaterThan(0);
    expect(fam('edgepulse_live_connections').type).toBe('GAUGE');
    expect(Number(fam('edgepulse_live_connections').metrics[0].value)).toBe(live.json.meta.connections);
    const hist = fam('edgepulse_duration_ms');
    expect(hist.type).toBe('HISTOGRAM');
    console.log(JSON.stringify(hist), res.text);
    const [{ n, sum }] = await sql<{ n: number; sum: number }>('SELECT count(duration_ms) AS n, sum(duration_ms) AS sum FROM events WHERE workspace_id = ?', ws.id);
    expect(Number(hist.metrics[0].count)).toBe(n);
    expect(Number(hist.metrics[0].sum)).toBeCloseTo(sum, 3);
    const buckets = hist.metrics[0].buckets as Record<string, string>;
    expect(Number(buckets['+Inf'])).toBe(n);
    // Each bound's count lies between the exact counts at bound·(1∓2%) (sketch bins are within 1%).
    for (const [le, count] of Object.entries(buckets)) {
      if (le === '+Inf') continue;
      const [{ lo }] = await sql<{ lo: number }>('SELECT count(*) AS lo FROM events WHERE workspace_id = ? AND duration_ms <= ?', ws.id, Number(le) * 0.98);
      const [{ hi }] = await sql<{ hi: number }>('SELECT count(*) AS hi FROM events WHERE workspace_id = ? AND duration_ms <= ?', ws.id, Number(le) * 1.02);
      expect(Number(count), `le=${le}`).toBeGreaterThanOrEqual(lo);
      expect(Number(count), `le=${le}`).toBeLessThanOrEqual(hi);
    }
    expect(res.text).not.toContain('other.workspace');
  });
});
