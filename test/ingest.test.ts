import { describe, expect, it } from 'vitest';
import { call, countRows, createWorkspace, flush, makeEvents } from './helpers';

describe('ingestion', () => {
  it('accepts a single event and reads it back after the drain', async () => {
    const ws = await createWorkspace();
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      body: { type: 'message.sent', userId: 'u_42', room: 'standup', durationMs: 12.5, properties: { plan: 'pro' } },
      headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1' },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: 1, duplicates: 0 });
    expect(await flush(ws)).toBe(0);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read });
    expect(read.status).toBe(200);
    expect(read.json.events).toHaveLength(1);
    const [event] = read.json.events;
    expect(event).toMatchObject({ type: 'message.sent', userId: 'u_42', room: 'standup', durationMs: 12.5, properties: { plan: 'pro' } });
    expect(event.context).toMatchObject({ platform: 'Web', browser: 'Safari', device: 'mobile' });
    expect(event.context.os).toMatch(/^iOS 18/);
  });

  it('stores the same 1,000 events once when sent twice and concurrently', async () => {
    const ws = await createWorkspace();
    const events = makeEvents(1000, 'dup');
    const send = (slice: typeof events) =>
      call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: slice } });
    const first = await Promise.all([0, 1].map((i) => send(events.slice(i * 500, i * 500 + 500))));
    expect(first.map((r) => r.json)).toEqual([{ accepted: 500, duplicates: 0 }, { accepted: 500, duplicates: 0 }]);
    const again = await Promise.all([0, 1, 0, 1].map((i) => send(events.slice(i * 500, i * 500 + 500))));
    expect(again.every((r) => r.status === 202 && r.json.accepted === 0 && r.json.duplicates === 500)).toBe(true);
    await flush(ws);
    expect(await countRows('SELECT count(*) AS n FROM events WHERE workspace_id = ?', ws.id)).toBe(1000);
    expect(await countRows('SELECT count(DISTINCT id) AS n FROM events WHERE workspace_id = ?', ws.id)).toBe(1000);
  });
});
