/**
 * edgepulse live client (`edgepulse/live`): subscribes a page to a workspace's (or a room's) live view
 * by WebSocket, falls back to Server-Sent Events and then to polling the JSON snapshot, reconnects with
 * exponential backoff and full jitter, and asks `getToken` again when a credential is refused or about
 * to expire.
 *
 *   const live = subscribe({
 *     host: 'https://pulse.example.com', workspace: 'demo',
 *     getToken: () => fetch('/edgepulse-token').then((r) => r.json()).then((t) => t.token),
 *     onMessage: (m) => { if (m.type === 'stats') show(m.data.onlineUsers); },
 *   });
 *   live.close();
 *
 * Browsers only (WebSocket, EventSource, fetch); no dependencies, types only from src/shared.
 */
import type { LiveMessage, LiveSnapshot, LiveToken } from '../shared/live';

export type { LiveMessage };
/** What a `stats` message carries: the workspace's Stats, or a room's RoomStats. */
export type LiveStats = Extract<LiveMessage, { type: 'stats' }>['data'];
export type LiveTransport = 'ws' | 'sse' | 'poll';

export interface LiveStatus {
  /** `connecting` before a transport opens, `open` while messages flow, `retrying` while waiting to reconnect, `closed` after close(). */
  state: 'connecting' | 'open' | 'retrying' | 'closed';
  /** The transport in use (while `retrying`: the one that failed). */
  transport: LiveTransport;
  /** Failed attempts since the last open. */
  attempt: number;
  /** While `retrying`: how long until the next attempt. */
  retryInMs?: number;
  /** What went wrong last, when known (`unauthorized`, `forbidden`, an HTTP status, `network`). */
  error?: string;
}

export interface SubscribeOptions {
  /** Origin of the edgepulse Worker, e.g. `https://pulse.example.com`. */
  host: string;
  /** Workspace slug. */
  workspace: string;
  /** A room, stream or channel: subscribe to its live view instead of the workspace's. */
  room?: string;
  /**
   * A live token (from `POST …/live/token`, minted by your server) or a read key (`rk_…`, which the
   * client trades for live tokens itself). Called again when a credential is refused or expires.
   */
  getToken: () => Promise<string>;
  onMessage: (message: LiveMessage) => void;
  onStatus?: (status: LiveStatus) => void;
  /** Order to try (default `['ws', 'sse', 'poll']`): a transport that never opens gives way to the next. */
  transports?: LiveTransport[];
  /** How often polling asks for the snapshot (default 2000 ms). */
  pollIntervalMs?: number;
  /** Backoff: the first retry waits up to `baseMs` (default 500), doubling up to `maxMs` (default 30000). */
  backoff?: { baseMs?: number; maxMs?: number };
}

export interface LiveSubscription {
  close(): void;
}

/** Streams send stats at least every 15 s and a ping every 30 s: this long without a message is a dead line. */
const SILENCE_MS = 45_000;
/** A live token is renewed this long before it expires. */
const RENEW_BEFORE_MS = 30_000;

/** A connection attempt: hands each message to `deliver`, calls `fail` once (whether the credential was refused, how long the server asked to wait). */
type Fail = (error: string, refused?: boolean, waitMs?: number) => void;
type Dial = (token: string, deliver: (message: LiveMessage) => void, fail: Fail) => () => void;

const expiryOf = (token: string): number => {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch {
    return Infinity; // a read key does not expire
  }
};

export function subscribe(opts: SubscribeOptions): LiveSubscription {
  const transports = opts.transports ?? ['ws', 'sse', 'poll'];
  const base = `${opts.host.replace(/\/$/, '')}/api/v1/workspaces/${encodeURIComponent(opts.workspace)}`;
  const liveUrl = base + (opts.room ? `/rooms/${encodeURIComponent(opts.room)}/live` : '/live');
  const { baseMs = 500, maxMs = 30_000 } = opts.backoff ?? {};
  let index = 0;
  let attempt = 0;
  let closed = false;
  let credential: string | undefined; // what getToken gave
  let token: string | undefined; // the live token minted with a read key getToken gave
  let stop = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;

  const status = (state: LiveStatus['state'], extra: Partial<LiveStatus> = {}) =>
    opts.onStatus?.({ state, transport: transports[index], attempt, ...extra });

  /** A live token for ?token= (streams), or what getToken gave (polling takes a read key as a bearer); fresh when `renew`. */
  async function tokenFor(transport: LiveTransport, renew: boolean): Promise<string> {
    if (renew || !credential || expiryOf(credential) - Date.now() < RENEW_BEFORE_MS) credential = await opts.getToken();
    if (transport === 'poll' || credential.split('.').length === 3) return credential;
    if (!renew && token && expiryOf(token) - Date.now() > RENEW_BEFORE_MS) return token;
    const res = await fetch(`${base}/live/token`, { method: 'POST', headers: { authorization: `Bearer ${credential}` } });
    if (!res.ok) throw new Error(String(res.status));
    return (token = ((await res.json()) as LiveToken).token);
  }

  const pollMs = opts.pollIntervalMs ?? 2000;
  const withToken = (t: string) => `${liveUrl}?token=${encodeURIComponent(t)}`;
  const dials: Record<LiveTransport, Dial> = {
    ws(t, deliver, fail) {
      const socket = new WebSocket(withToken(t).replace(/^http/, 'ws'));
      socket.addEventListener('message', (e) => deliver(JSON.parse(e.data as string) as LiveMessage));
      // 4401: the key behind the token was revoked; 1008: policy (a refused credential).
      socket.addEventListener('close', (e) => fail(`closed ${e.code}`, e.code === 4401 || e.code === 1008));
      return () => socket.close(1000);
    },
    sse(t, deliver, fail) {
      const source = new EventSource(withToken(t));
      for (const type of ['connected', 'stats', 'events', 'ping'] as const) {
        source.addEventListener(type, (e) => deliver({ type, data: JSON.parse((e as MessageEvent).data) } as LiveMessage));
      }
      // EventSource would retry with the same (maybe expired) token: this loop retries instead.
      source.onerror = () => fail('network');
      return () => source.close();
    },
    poll(t, deliver, fail) {
      let next: ReturnType<typeof setTimeout> | undefined;
      let gone = false;
      const ask = async () => {
        let snapshot: LiveSnapshot;
        try {
          // A live token goes in ?token= (the live routes take it there only), a read key as a bearer.
          const jwt = t.split('.').length === 3;
          const res = await fetch(jwt ? withToken(t) : liveUrl, { headers: jwt ? {} : { authorization: `Bearer ${t}` } });
          if (!res.ok) return fail(String(res.status), res.status === 401, Number(res.headers.get('retry-after')) * 1000);
          snapshot = await res.json();
        } catch {
          return fail('network');
        }
        deliver({ type: 'stats', data: snapshot.data });
        if (expiryOf(t) - Date.now() < RENEW_BEFORE_MS) return fail('renew', true, 1);
        if (!gone) next = setTimeout(ask, pollMs);
      };
      void ask();
      return () => {
        gone = true;
        clearTimeout(next);
      };
    },
  };

  async function connect(renew: boolean) {
    const transport = transports[index];
    status('connecting');
    let t: string;
    try {
      t = await tokenFor(transport, renew);
    } catch (e) {
      return retry(String((e as Error).message ?? e), false, true);
    }
    if (closed) return;
    let opened = false;
    let done = false;
    let silence: ReturnType<typeof setTimeout> | undefined;
    const fail: Fail = (error, refused = false, waitMs) => {
      if (done || closed) return;
      done = true;
      clearTimeout(silence);
      stop();
      retry(error, refused || !opened, false, waitMs);
      // A transport that said nothing with a fresh credential is blocked on the way: the next one is tried.
      if (!opened && !refused && (renew || error === 'unsupported')) index = (index + 1) % transports.length;
    };
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => fail('silent'), SILENCE_MS + pollMs);
    };
    // Open means the first message (the server's `connected`, or a snapshot), not a handshake a proxy may fake.
    const deliver = (message: LiveMessage) => {
      if (done || closed) return;
      listen();
      if (!opened) {
        opened = true;
        attempt = 0;
        status('open');
      }
      opts.onMessage(message);
    };
    listen();
    try {
      const hangUp = dials[transport](t, deliver, fail);
      stop = () => {
        clearTimeout(silence);
        hangUp();
      };
    } catch {
      fail('unsupported'); // no WebSocket or EventSource here (or a policy forbids it): the next transport
    }
  }

  function retry(error: string, renew: boolean, tokenFailed: boolean, waitMs?: number) {
    if (closed) return;
    attempt++;
    // Full jitter: anywhere between 0 and the exponential cap, so pages do not return in step.
    const cap = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
    const wait = waitMs && waitMs > 0 ? waitMs : Math.random() * cap;
    status('retrying', { retryInMs: Math.round(wait), error });
    timer = setTimeout(() => connect(renew || tokenFailed), wait);
  }

  void connect(true);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      stop();
      status('closed');
    },
  };
}
