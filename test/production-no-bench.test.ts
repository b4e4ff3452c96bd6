import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, createWorkspace, flush, hub, makeEvents, type TestWorkspace } from './helpers';

const rawRows = (ws: TestWorkspace) => archivedCount(ws.id);

// The benchmarks' references live in the bench entry Worker (bench/worker.ts, test/e2e/bench-entry.test.ts);
// the production Worker has none of them, whatever a request says.
describe('production carries no bench hooks', () => {
  it('has no /api/v1/bench routes', async () => {
    for (const [method, path] of [['GET', '/api/v1/bench/ws'], ['POST', '/api/v1/bench/broadcast'], ['POST', '/api/v1/bench/d1-rows'], ['GET', '/api/v1/bench/']]) {
      const res = await call(method, path, method === 'GET' ? { headers: { upgrade: 'websocket' } } : { rawBody: 'x' });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('not_found');
    }
  });

  it('ignores x-edgepulse-bench: every event goes through the hub and is stored', async () => {
    const ws = await createWorkspace('bench-header');
    for (const reference of ['worker-half', '1', 'other']) {
      const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
        token: ws.keys.ingest,
        headers: { 'x-edgepulse-bench': reference },
        body: { events: makeEvents(3, reference) },
      });
      expect(res).toMatchObject({ status: 202, json: { accepted: 3, duplicates: 0 } });
    }
    // De-duplicated by the hub, then drained: all nine went the whole way.
    const again = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(3, 'worker-half') } });
    expect(again.json).toEqual({ accepted: 0, duplicates: 3 });
    expect(await flush(ws)).toBe(0);
    expect(await rawRows(ws)).toBe(9);
    expect((await hub(ws.id).usage()).pendingBatches).toBe(0);
  });

  it('opens a live subscriber, not a bare socket, whatever x-edgepulse-bench says', async () => {
    const ws = await createWorkspace('bench-live');
    const res = await SELF.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/live`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${ws.keys.read}`, 'x-edgepulse-bench': '1' },
    });
    expect(res.status).toBe(101);
    const socket = res.webSocket!;
    const first = new Promise<{ type: string }>((resolve) => socket.addEventListener('message', (e) => resolve(JSON.parse(e.data as string))));
    socket.accept();
    // A bare socket would say nothing; a live subscriber is greeted first.
    expect((await first).type).toBe('connected');
    socket.close(1000);
  });
});
