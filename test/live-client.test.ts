import { env, SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { issueLiveToken } from '../src/auth/live-token';
import { subscribe, type LiveMessage, type LiveStatus } from '../src/client/live';
import { call, createWorkspace } from './helpers';

// edgepulse/live's polling loop against the real Worker (its fetch goes to this Worker): the token
// callback, refusals, renewal before expiry and the backoff. Chromium covers WebSocket and SSE (test/e2e/live-client.test.ts).
const HOST = 'http://edgepulse.test';

const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('edgepulse/live polling against the Worker', () => {
  const requests: Array<{ url: string; authorization: string | null }> = [];
  beforeEach(() => {
    requests.length = 0;
    vi.stubGlobal('fetch', (input: string, init?: RequestInit) => {
      requests.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
      return SELF.fetch(input, init);
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  function start(ws: { slug: string }, getToken: () => Promise<string>, extra: { room?: string; backoff?: { baseMs?: number; maxMs?: number } } = {}) {
    const messages: LiveMessage[] = [];
    const statuses: LiveStatus[] = [];
    const live = subscribe({
      host: HOST, workspace: ws.slug, getToken, transports: ['poll'], pollIntervalMs: 50,
      onMessage: (m) => messages.push(m), onStatus: (s) => statuses.push(s), ...extra,
    });
    return { live, messages, statuses };
  }

  it('delivers the snapshot as stats messages, a read key as a bearer, a live token in ?token=, and stops on close()', async () => {
    const ws = await createWorkspace('lcu-poll');
    expect((await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { id: 'lcu-1', type: 'view', userId: 'u1' } })).status).toBe(202);
    const byKey = start(ws, async () => ws.keys.read);
    await until('two snapshots', () => byKey.messages.length >= 2);
    expect(byKey.messages[0]).toMatchObject({ type: 'stats', data: { eventsToday: 1, onlineUsers: 1 } });
    expect(byKey.statuses[0]).toMatchObject({ state: 'connecting', transport: 'poll' });
    expect(byKey.statuses.find((s) => s.state === 'open')).toBeDefined();
    expect(requests[0]).toEqual({ url: `${HOST}/api/v1/workspaces/${ws.slug}/live`, authorization: `Bearer ${ws.keys.read}` });
    byKey.live.close();
    const after = requests.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(requests.length).toBeLessThanOrEqual(after + 1); // at most the request in flight at close()
    expect(byKey.statuses.at(-1)?.state).toBe('closed');

    const token = (await call('POST', `/api/v1/workspaces/${ws.slug}/live/token`, { token: ws.keys.read })).json.token as string;
    const room = start(ws, async () => token, { room: 'standup' });
    await until('a room snapshot', () => room.messages.length >= 1);
    room.live.close();
    expect(requests.at(-1)!.url).toBe(`${HOST}/api/v1/workspaces/${ws.slug}/rooms/standup/live?token=${encodeURIComponent(token)}`);
    expect((room.messages[0] as { data: { room: string } }).data.room).toBe('standup');
  });

  it('asks getToken again when the credential is refused (401), after a wait', async () => {
    const ws = await createWorkspace('lcu-401');
    const given = ['rk_not-a-key', ws.keys.read];
    let asked = 0;
    const { live, messages, statuses } = start(ws, async () => given[Math.min(asked++, 1)], { backoff: { baseMs: 20 } });
    await until('a snapshot with the second credential', () => messages.length >= 1);
    live.close();
    expect(asked).toBe(2);
    expect(statuses.find((s) => s.state === 'retrying')).toMatchObject({ transport: 'poll', error: '401', attempt: 1 });
  });

  it('renews a live token before it lapses: a token with less than 30 s left is used once more, then replaced', async () => {
    const ws = await createWorkspace('lcu-renew');
    const principal = { kind: 'read' as const, workspaceId: ws.id, keyId: await readKeyId(ws), via: 'key' as const };
    // A real token minted 4 min 40 s ago: 20 s left, inside the client's 30 s renewal margin.
    const stale = (await issueLiveToken(env.SESSION_SECRET, ws.id, principal, Date.now() - 280_000)).token;
    const fresh = (await issueLiveToken(env.SESSION_SECRET, ws.id, principal)).token;
    const given = [stale, fresh];
    let asked = 0;
    const { live, messages, statuses } = start(ws, async () => given[Math.min(asked++, 1)]);
    await until('three snapshots', () => messages.length >= 3);
    live.close();
    expect(asked).toBe(2);
    const tokens = requests.map((r) => new URL(r.url).searchParams.get('token'));
    expect(tokens[0]).toBe(stale);
    expect(tokens.slice(1).every((t) => t === fresh)).toBe(true);
    expect(statuses.filter((s) => s.error).map((s) => s.error)).toEqual(['renew']);
  });

  it('backs off with full jitter: each wait is anywhere up to a cap that doubles, up to maxMs', async () => {
    const ws = await createWorkspace('lcu-backoff');
    const { live, statuses } = start(ws, async () => 'rk_revoked-or-wrong', { backoff: { baseMs: 8, maxMs: 64 } });
    await until('eight retries', () => statuses.filter((s) => s.state === 'retrying').length >= 8);
    live.close();
    const waits = statuses.filter((s) => s.state === 'retrying').map((s) => [s.attempt, s.retryInMs!] as const);
    for (const [attempt, wait] of waits) {
      expect(wait, `attempt ${attempt}`).toBeGreaterThanOrEqual(0);
      expect(wait, `attempt ${attempt}`).toBeLessThanOrEqual(Math.min(64, 8 * 2 ** (attempt - 1)));
    }
    expect(waits.map(([a]) => a)).toEqual(waits.map((_, i) => i + 1)); // attempts count up until something opens
  });
});

async function readKeyId(ws: { slug: string; keys: { admin: string; read: string } }): Promise<string> {
  const listed = await call('GET', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin });
  return (listed.json.keys as Array<{ id: string; kind: string; prefix: string }>).find((k) => k.kind === 'read' && ws.keys.read.startsWith(k.prefix))!.id;
}
