import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { applyRetention } from '../src/history/retention';
import { call, createWorkspace, type TestWorkspace } from './helpers';
import { load, rng, sql } from './history-dataset';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function events(prefix: string, now: number) {
  const r = rng(7);
  // Ages from 12 days to 1 minute, denser recently; every event durable and in the past.
  return Array.from({ length: 700 }, (_, i) => ({
    id: `${prefix}-${i}`,
    type: ['a', 'b', 'c'][i % 3],
    timestamp: now - Math.floor(60_000 + r() * r() * 12 * DAY),
    userId: `u${Math.floor(r() * 60)}`,
    room: i % 4 ? 'r1' : 'r2',
    durationMs: Math.round(r() * 1000),
    error: i % 11 ? undefined : 'boom',
    context: { country: ['DE', 'FR'][i % 2] },
  }));
}

async function reports(ws: TestWorkspace, q: string) {
  const get = async (path: string) => {
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/${path}${path.includes('?') ? '&' : '?'}${q}`, { token: ws.keys.read });
    expect(res.status, res.text).toBe(200);
    return res.json;
  };
  return {
    summary: await get('stats/summary'),
    day: await get('stats/timeseries?granularity=day&metrics=events,users,errors,durationP50'),
    byType: await get('stats/breakdown?by=type'),
    byCountry: await get('stats/breakdown?by=country'),
  };
}

// Retention alone (the cron also runs the archive migration, which moves and drops the D1 raw table: test/archive-migration.test.ts).
describe('retention (the cron)', () => {
  it('removes old minute rollups and drain_log rows; leaves D1 raw events to the archive migration; reports do not change; another workspace untouched', async () => {
    const now = Date.now();
    const a = await createWorkspace('ret', { retentionDays: 5 });
    const b = await createWorkspace('ret-keep', { retentionDays: 90 });
    await load(a, events('a', now));
    await load(b, events('b', now));
    await env.DB.prepare('INSERT INTO drain_log (batch_id, workspace_id, drained_at) VALUES (?, ?, ?)').bind('old-batch', a.id, now - 9 * DAY).run();

    const cut = now - 5 * DAY;
    const aBefore = await sql('SELECT id, ts FROM events WHERE workspace_id = ? ORDER BY id', a.id);
    const [{ old }] = await sql<{ old: number }>('SELECT count(*) AS old FROM events WHERE workspace_id = ? AND ts < ?', a.id, cut);
    expect(old).toBeGreaterThan(50);
    const bBefore = await sql('SELECT id, ts FROM events WHERE workspace_id = ? ORDER BY id', b.id);
    const [{ oldMinutes }] = await sql<{ oldMinutes: number }>(`SELECT count(*) AS oldMinutes FROM rollups WHERE grain = 'minute' AND bucket < ?`, now - 48 * HOUR);
    expect(oldMinutes).toBeGreaterThan(0);

    // The remaining range (unaligned start), and the whole history on day boundaries.
    const remaining = `from=${cut}&to=${now}`;
    const startDay = Math.floor((now - 13 * DAY) / DAY) * DAY;
    const whole = `from=${startDay}&to=${Math.floor(now / DAY) * DAY}`;
    const before = { remaining: await reports(a, remaining), whole: await reports(a, whole), b: await reports(b, remaining) };

    expect((await applyRetention(env.DB, now)).complete).toBe(true);

    // Raw events live in the archive (whose retention deletes partitions); the D1 table is the migration's alone.
    expect(await sql('SELECT id, ts FROM events WHERE workspace_id = ? ORDER BY id', a.id)).toEqual(aBefore);
    expect(await sql('SELECT id, ts FROM events WHERE workspace_id = ? ORDER BY id', b.id)).toEqual(bBefore);
    const [{ n }] = await sql<{ n: number }>(`SELECT count(*) AS n FROM rollups WHERE grain = 'minute' AND bucket < ?`, now - 48 * HOUR);
    expect(n).toBe(0);
    const [{ recent }] = await sql<{ recent: number }>(`SELECT count(*) AS recent FROM rollups WHERE workspace_id = ? AND grain = 'minute'`, a.id);
    expect(recent).toBeGreaterThan(0);
    expect(await sql(`SELECT * FROM drain_log WHERE batch_id = 'old-batch'`)).toEqual([]);
    expect((await sql(`SELECT * FROM drain_log WHERE workspace_id = ?`, a.id)).length).toBeGreaterThan(0);

    expect(await reports(a, remaining)).toEqual(before.remaining);
    expect(await reports(a, whole)).toEqual(before.whole);
    expect(await reports(b, remaining)).toEqual(before.b);

    // A second run finds nothing more to delete.
    expect(await applyRetention(env.DB, now)).toMatchObject({ minuteRollups: 0, drainLog: 0, complete: true });
  }, 60_000);
});
