import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, startDevServer, type DevServer } from './server';

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('wrangler dev', () => {
  it('takes an event and reads it back within 5 s', async () => {
    const { keys } = await createWorkspace(server, 'smoke');
    const post = await fetch(`${server.url}/api/v1/workspaces/smoke/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'smoke-1', type: 'hello' }),
    });
    expect(post.status).toBe(202);
    const deadline = Date.now() + 5_000;
    let events: Array<{ id: string }> = [];
    while (Date.now() < deadline && events.length === 0) {
      const res = await fetch(`${server.url}/api/v1/workspaces/smoke/events`, { headers: { authorization: `Bearer ${keys.read}` } });
      events = ((await res.json()) as { events: Array<{ id: string }> }).events;
      if (!events.length) await new Promise((r) => setTimeout(r, 200));
    }
    expect(events.map((e) => e.id)).toEqual(['smoke-1']);
  });
});
