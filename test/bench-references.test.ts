import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app';
import { digestsEqual } from '../src/auth/secrets';
import { call, countRows, createWorkspace, flush, hub, makeEvents, type TestWorkspace } from './helpers';

const rawRows = (ws: TestWorkspace) => countRows('SELECT count(*) AS n FROM events WHERE workspace_id = ?', ws.id);

/** The Worker as bench/ runs it: the same bindings plus BENCH=1. */
async function benchCall(ws: TestWorkspace, reference: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.keys.ingest}`, 'content-type': 'application/json', 'x-edgepulse-bench': reference },
      body: JSON.stringify(body),
    }),
    { ...env, BENCH: '1' },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, json: (await res.json()) as any };
}

describe('benchmark references (src/routes/bench.ts)', () => {
  it('are ignored without BENCH=1: the header changes nothing and every event goes through the hub', async () => {
    const ws = await createWorkspace('bench-off');
    for (const reference of ['worker-half', 'other']) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
        token: ws.keys.ingest,
        headers: { 'x-edgepulse-bench': reference },
        body: { events: makeEvents(3, reference) },
      });
      expect(res.status).toBe(202);
      expect(res.json).toEqual({ accepted: 3, duplicates: 0 });
    }
    // De-duplicated by the hub, then drained: the references did not run.
    const again = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(3, 'other') } });
    expect(again.json).toEqual({ accepted: 0, duplicates: 3 });
    expect(await flush(ws)).toBe(0);
    expect(await rawRows(ws)).toBe(6);
  });

  it('have no routes without BENCH=1', async () => {
    for (const [method, path] of [['GET', '/api/v1/bench/ws'], ['POST', '/api/v1/bench/broadcast'], ['POST', '/api/v1/bench/d1-rows']]) {
      const res = await call(method, path, method === 'GET' ? {} : { rawBody: 'x' });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('not_found');
    }
  });

  it('with BENCH=1: worker-half answers after validation and stores nothing; other values ingest as usual', async () => {
    const ws = await createWorkspace('bench-on');
    expect(await benchCall(ws, 'worker-half', { events: makeEvents(5, 'half') })).toEqual({ status: 202, json: { accepted: 5, duplicates: 0 } });
    expect((await hub(ws.id).usage()).pendingBatches).toBe(0);
    expect(await flush(ws)).toBe(0);
    expect(await rawRows(ws)).toBe(0);

    const bad = await benchCall(ws, 'worker-half', { events: [{ type: 42 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error.issues[0].path).toBe('events.0.type');

    expect(await benchCall(ws, 'something-else', { events: makeEvents(2, 'usual') })).toEqual({ status: 202, json: { accepted: 2, duplicates: 0 } });
    expect(await flush(ws)).toBe(0);
    expect(await rawRows(ws)).toBe(2);
  });
});

describe('the D1 reference (BENCH=1)', () => {
  it('writes the given events copies times over as raw rows, the way the drain does', async () => {
    const ctx = createExecutionContext();
    const events = makeEvents(4, `d1rows-${Date.now()}`, { context: { country: 'DE' }, properties: { plan: 'pro' } });
    const res = await app.fetch(
      new Request('http://edgepulse.test/api/v1/bench/d1-rows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events, copies: 3 }) }),
      { ...env, BENCH: '1' },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ rows: 12 });
    const rows = await env.DB.prepare(`SELECT id, type, properties, context FROM events WHERE workspace_id = 'bench:d1-rows' AND id LIKE ? ORDER BY id`).bind(`${events[0].id.split('-0')[0]}%`).all<{ id: string; type: string; properties: string; context: string }>();
    expect(rows.results).toHaveLength(12);
    expect(rows.results[0]).toMatchObject({ id: `${events[0].id}.0`, type: 'test.event', properties: '{"plan":"pro"}' });
    expect(JSON.parse(rows.results[0].context)).toEqual({ country: 'DE' });
  });
});

describe('digestsEqual', () => {
  it('tells equal digests from different ones of the same or another length', () => {
    const a = 'a'.repeat(63) + 'b';
    expect(digestsEqual(a, a.slice())).toBe(true);
    expect(digestsEqual(a, 'a'.repeat(64))).toBe(false);
    expect(digestsEqual(a, a.slice(0, 63))).toBe(false);
    expect(digestsEqual('', '')).toBe(true);
  });
});
