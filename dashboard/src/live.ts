import { signal } from '@preact/signals';
import { api, ApiFailure, authorize, sessionEnded } from './api';
import type { LiveEvent, LiveMessage, LiveSnapshot, LiveToken, RoomStats, Stats } from './api-types';
import { share } from './share';

export type ConnectionState = 'connecting' | 'live' | 'polling' | 'reconnecting' | 'offline';

const FEED_MAX = 50;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 8_000;
/** WebSocket failures in a row before the snapshot is polled instead. */
const WS_FAILURES_BEFORE_POLLING = 2;
const POLL_MS = 2_000;
/** Silence after which a socket is presumed dead (the server pings every 30 s). */
const SILENCE_MS = 45_000;
/** Failing this long makes the state "offline" instead of "reconnecting". */
const OFFLINE_AFTER_MS = 60_000;
/** The close code a hub sends when the connection's key is revoked. */
const KEY_REVOKED = 4401;
/** A live token is minted again when less than this is left of its 5 minutes. */
const TOKEN_MARGIN_MS = 30_000;

const liveTokens = new Map<string, Promise<LiveToken>>();

/**
 * A share link's WebSocket carries a live token minted with the share's bearer (a browser cannot set
 * headers on a socket, and a share never has a cookie); one token serves every socket until it nearly expires.
 */
async function liveToken(livePath: string): Promise<string> {
  const wsPath = /^\/workspaces\/[^/]+/.exec(livePath)?.[0] ?? livePath;
  let minting = liveTokens.get(wsPath);
  const fresh = minting && (await minting.then((t) => Date.parse(t.expiresAt) - Date.now() > TOKEN_MARGIN_MS, () => false));
  if (!minting || !fresh) {
    minting = api<LiveToken>('POST', `${wsPath}/live/token`);
    liveTokens.set(wsPath, minting);
  }
  return (await minting).token;
}

/**
 * One live connection per view: a WebSocket to `…/live`, reconnecting with exponential backoff and
 * jitter; while WebSockets keep failing it polls the JSON snapshot so the numbers stay current.
 */
export class LiveConnection<S extends Stats | RoomStats = Stats> {
  readonly state = signal<ConnectionState>('connecting');
  readonly stats = signal<S | null>(null);
  readonly feed = signal<LiveEvent[]>([]);
  readonly lastMessageAt = signal<number>(0);
  readonly error = signal<string | null>(null);

  private socket: WebSocket | null = null;
  private failures = 0;
  private failingSince = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private pollingLoop = false;

  constructor(private readonly path: string) {
    void this.connect();
    this.watchdog = setInterval(() => {
      if (this.socket && this.state.value === 'live' && Date.now() - this.lastMessageAt.value > SILENCE_MS) this.socket.close();
    }, 5_000);
    window.addEventListener('online', this.retryNow);
    window.addEventListener('offline', this.markOffline);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    window.removeEventListener('online', this.retryNow);
    window.removeEventListener('offline', this.markOffline);
    this.socket?.close();
    this.socket = null;
  }

  private retryNow = () => {
    if (this.closed || this.state.value === 'live') return;
    clearTimeout(this.timer);
    void this.connect();
  };

  private markOffline = () => {
    if (this.state.value !== 'live') this.state.value = 'offline';
  };

  private async connect(): Promise<void> {
    if (this.closed) return;
    const url = new URL(`/api/v1${this.path}`, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (share.value) {
      try {
        url.searchParams.set('token', await liveToken(this.path));
      } catch (err) {
        // A 401 has already ended the share (api() saw it); anything else is retried like a failed socket.
        if (err instanceof ApiFailure && err.status === 401) this.close();
        else this.onFailure(false);
        return;
      }
      if (this.closed || this.socket) return;
    }
    let opened = false;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.onFailure(false);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.failures = 0;
      this.failingSince = 0;
      this.error.value = null;
      this.lastMessageAt.value = Date.now();
      this.state.value = 'live';
    };
    socket.onmessage = (e) => this.onMessage(e.data);
    socket.onclose = (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (e.code === KEY_REVOKED) {
        // The key this session signed in with (or the share link) was revoked: retrying would only meet 401s.
        this.close();
        sessionEnded();
        return;
      }
      this.onFailure(opened);
    };
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let msg: LiveMessage;
    try {
      msg = JSON.parse(raw) as LiveMessage;
    } catch {
      return;
    }
    this.lastMessageAt.value = Date.now();
    if (msg.type === 'stats') this.applyStats(msg.data as S);
    else if (msg.type === 'events') this.addEvents(msg.data);
    else if (msg.type === 'ping') this.socket?.send(JSON.stringify({ type: 'ping' }));
  }

  private applyStats(stats: S): void {
    this.stats.value = stats;
    this.addEvents(stats.recentEvents);
  }

  private addEvents(events: LiveEvent[]): void {
    if (!events.length) return;
    const seen = new Set<string>();
    const merged: LiveEvent[] = [];
    for (const e of [...events, ...this.feed.value]) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      merged.push(e);
    }
    merged.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));
    this.feed.value = merged.slice(0, FEED_MAX);
  }

  private onFailure(wasOpen: boolean): void {
    if (this.closed) return;
    if (wasOpen) this.failures = 0;
    this.failures++;
    if (!this.failingSince) this.failingSince = Date.now();
    const pollingOk = this.state.value === 'polling';
    if (!pollingOk) this.state.value = navigator.onLine === false || Date.now() - this.failingSince > OFFLINE_AFTER_MS ? 'offline' : 'reconnecting';
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, this.failures - 1));
    const delay = wasOpen ? 250 : backoff * (0.75 + Math.random() * 0.5);
    if (this.failures >= WS_FAILURES_BEFORE_POLLING) this.startPolling();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /** One polling loop of the JSON snapshot while the WebSocket is down; the first success retries the socket at once. */
  private startPolling(): void {
    if (this.pollingLoop) return;
    this.pollingLoop = true;
    const run = async () => {
      if (this.closed || this.state.value === 'live') {
        this.pollingLoop = false;
        return;
      }
      await this.pollOnce();
      setTimeout(run, POLL_MS);
    };
    void run();
  }

  private async pollOnce(): Promise<void> {
    try {
      const auth = authorize();
      const res = await fetch(`/api/v1${this.path}`, { credentials: auth.credentials, headers: { ...auth.headers, accept: 'application/json' } });
      if (res.status === 401) {
        // Signed out elsewhere or the key was revoked: back to sign-in instead of retrying forever.
        this.close();
        sessionEnded();
        return;
      }
      if (!res.ok) throw new Error(`${res.status}`);
      const snap = (await res.json()) as LiveSnapshot;
      if (this.closed || this.state.value === 'live') return;
      this.applyStats(snap.data as S);
      this.lastMessageAt.value = Date.now();
      const wasPolling = this.state.value === 'polling';
      this.state.value = 'polling';
      if (!wasPolling && !this.socket) {
        // The server answers again: try the socket now rather than after the backoff.
        clearTimeout(this.timer);
        void this.connect();
      }
    } catch {
      if (this.state.value === 'polling') this.state.value = 'reconnecting';
    }
  }
}
