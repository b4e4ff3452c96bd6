import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Fanout } from '../src/live/fanout';
import { LIMITS } from '../src/shared/limits';
import { call, createWorkspace, hub } from './helpers';

const BASE = 'http://edgepulse.test';
const fanoutOf = (instance: unknown) => {
  const i = instance as { live?: { fanout: Fanout }; fanout?: Fanout };
  return (i.live?.fanout ?? i.fanout)!;
};

/** Opens a live connection as `headers` say; answers the status, and a closer for what opened. */
async function open(path: string, mode: 'ws' | 'sse', auth: Record<string, string>) {
  const headers = mode === 'ws' ? { upgrade: 'websocket', ...auth } : { accept: 'text/event-stream', ...auth };
  const res = await SELF.fetch(`${BASE}${path}`, { headers });
  if (res.status === 101) {
    res.webSocket!.accept();
    return { res, close: () => res.webSocket!.close(1000, 'done') };
  }
  if (res.status === 200) {
    const reader = res.body!.getReader();
    void reader.read();
    return { res, close: () => void reader.cancel().catch(() => {}) };
  }
  return { res, close: () => {} };
}

async function expectCapped(res: Response) {
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('rate_limited');
  expect(body.error.message).toMatch(/this key holds 2 live connections/);
}

async function until(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live connections per key', () => {
  it('defaults to LIMITS.liveConnectionsPerKey', async () => {
    const ws = await createWorkspace('percap');
    expect(await runInDurableObject(hub(ws.id), (instance) => fanoutOf(instance).maxPerKey)).toBe(LIMITS.liveConnectionsPerKey);
  });

  it("answers a key's connection beyond its cap with 429 (WebSocket and SSE, tokens minted by the key too); other keys, the root token and snapshots still go through", async () => {
    const ws = await createWorkspace('percap');
    await runInDurableObject(hub(ws.id), (instance) => void (fanoutOf(instance).maxPerKey = 2));
    const path = `/api/v1/workspaces/${ws.slug}/live`;
    const read = { authorization: `Bearer ${ws.keys.read}` };
    const a = await open(path, 'ws', read);
    const b = await open(path, 'sse', read);
    expect([a.res.status, b.res.status]).toEqual([101, 200]);
    for (const mode of ['ws', 'sse'] as const) await expectCapped((await open(path, mode, read)).res);
    // A live token minted by the read key counts as that key.
    const token = (await call('POST', `${path}/token`, { token: ws.keys.read })).json.token as string;
    await expectCapped((await open(`${path}?token=${token}`, 'ws', {})).res);

    // The cap is per key: the admin key still opens two, and the root token has no key (only the hub's cap).
    const admin = await Promise.all([open(path, 'ws', { authorization: `Bearer ${ws.keys.admin}` }), open(path, 'sse', { authorization: `Bearer ${ws.keys.admin}` })]);
    expect(admin.map((x) => x.res.status)).toEqual([101, 200]);
    const root = await Promise.all([1, 2, 3].map(() => open(path, 'ws', { authorization: `Bearer ${env.ADMIN_TOKEN}` })));
    expect(root.map((x) => x.res.status)).toEqual([101, 101, 101]);
    // A snapshot is no connection.
    expect((await call('GET', path, { token: ws.keys.read })).status).toBe(200);

    // Once one of the key's connections closes, it may open another.
    a.close();
    const readKeyId = await keyIdOf(ws.id, 'read');
    await until(async () => (await runInDurableObject(hub(ws.id), (instance) => fanoutOf(instance).keyConnections(readKeyId))) < 2, 'the closed socket to leave the hub');
    const again = await open(path, 'ws', read);
    expect(again.res.status).toBe(101);
    for (const x of [b, again, ...admin, ...root]) x.close();
  });

  it('caps a key per room hub too', async () => {
    const ws = await createWorkspace('percap-room');
    const path = `/api/v1/workspaces/${ws.slug}/rooms/standup/live`;
    const read = { authorization: `Bearer ${ws.keys.read}` };
    const first = await open(path, 'ws', read);
    expect(first.res.status).toBe(101);
    const room = env.ROOM_HUB.get(env.ROOM_HUB.idFromName(`${ws.id}/standup`));
    await runInDurableObject(room, (instance) => void (fanoutOf(instance).maxPerKey = 2));
    const second = await open(path, 'sse', read);
    expect(second.res.status).toBe(200);
    await expectCapped((await open(path, 'ws', read)).res);
    // Another room is another hub.
    const other = await open(`/api/v1/workspaces/${ws.slug}/rooms/other/live`, 'ws', read);
    expect(other.res.status).toBe(101);
    for (const x of [first, second, other]) x.close();
  });
});

async function keyIdOf(workspaceId: string, kind: string): Promise<string> {
  const row = await env.DB.prepare('SELECT id FROM api_keys WHERE workspace_id = ? AND kind = ?').bind(workspaceId, kind).first<{ id: string }>();
  return row!.id;
}
