import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { writeDrain } from '../src/history/drain-writer';
import type { NormalizedEvent } from '../src/ingest/types';
import { call, createWorkspace } from './helpers';
import { sql } from './history-dataset';

const event = (i: number, ts: number, user: string): NormalizedEvent => ({
  id: `d${i}`, type: 'x', ts, receivedAt: ts, userId: user, sessionId: null, room: 'r', durationMs: i, bytesIn: 1, bytesOut: null,
  error: null, value: null, properties: {}, context: { country: 'DE' },
});

describe('drain: rollups in the same D1 batch as the raw events', () => {
  it('a retried drain changes nothing; a later drain merges its sketches with the stored ones', async () => {
    const ws = await createWorkspace('drain');
    const ref = { id: ws.id, slug: ws.slug, timezone: 'UTC' };
    const t = Date.now() - 3_600_000;
    const first = Array.from({ length: 600 }, (_, i) => event(i, t + i, `u${i % 300}`));
    await writeDrain(env.DB, ref, [{ batchId: 'b1', events: first }], Date.now(), 'drain-1');
    const snapshot = await sql(`SELECT * FROM rollups WHERE workspace_id = ? ORDER BY grain, bucket, type, dim, key`, ws.id);
    // The answer was lost and the hub retries the same drain: D1 rolls the whole batch back.
    await writeDrain(env.DB, ref, [{ batchId: 'b1', events: first }], Date.now(), 'drain-1');
    expect(await sql(`SELECT * FROM rollups WHERE workspace_id = ? ORDER BY grain, bucket, type, dim, key`, ws.id)).toEqual(snapshot);
    expect((await sql<{ n: number }>(`SELECT total(events) AS n FROM rollups WHERE workspace_id = ? AND grain = 'day' AND type = '' AND dim = ''`, ws.id))[0].n).toBe(600);

    // 300 more users, half of them seen before: the stored sketch and the new one merge (450 unique).
    const second = Array.from({ length: 300 }, (_, i) => event(1000 + i, t + 1000 + i, `u${150 + i}`));
    await writeDrain(env.DB, ref, [{ batchId: 'b2', events: second }], Date.now(), 'drain-2');
    // Whole hours: the rollups answer (writeDrain alone writes no archive object for raw readers to find).
    const from = Math.floor(t / 3_600_000) * 3_600_000;
    const to = from + 2 * 3_600_000;
    const res = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/summary?from=${from}&to=${to}`, { token: ws.keys.read });
    expect(res.json.events).toBe(900);
    // 300 if the new sketch replaced the stored one, 600 if they were added: a merge gives 450 (within 2%).
    expect(Math.abs(res.json.users - 450)).toBeLessThanOrEqual(9);
    const byCountry = await call('GET', `/api/v1/workspaces/${ws.slug}/stats/breakdown?by=country&from=${from}&to=${to}`, { token: ws.keys.read });
    expect(byCountry.json.rows).toMatchObject([{ key: 'DE', events: 900, bytesIn: 900 }]);
    expect(Math.abs(byCountry.json.rows[0].users - 450)).toBeLessThanOrEqual(9);
  });
});
