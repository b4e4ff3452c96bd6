import { LIMITS } from '../shared/limits';
import type { LiveEvent, LiveMessage } from '../shared/live';
import { aggregatesOnly, aggregatesOnlyUntil, LIVE_AGGREGATES_HEADER } from './aggregates-only';

/** Coalescing: at most one `events` message per 100 ms and one `stats` per 250 ms per subscriber. */
export const FANOUT = { eventsEveryMs: 100, statsEveryMs: 250, statsAfterEventsMs: 100, statsAtLeastMs: 15_000, pingEveryMs: 30_000 } as const;

interface Attachment {
  id: string;
  room?: string;
  /** The key that opened the connection (none for the root token): revoking it closes the connection. */
  keyId?: string;
  /** A share link's connection: stats without user ids or raw events, and no `events` messages. */
  aggregatesOnly?: boolean;
  /** When its share link expires: the heartbeat closes it then. */
  until?: number;
}

/** Header naming the key behind a live request (trusted: only the Worker reaches a hub's fetch). */
export const LIVE_KEY_HEADER = 'x-edgepulse-key';
/** WebSocket tag of a key's connections: kept through hibernation, found without waking the others. */
const keyTag = (keyId: string) => `key:${keyId}`;
/** WebSocket tag of share links' connections (aggregates only), found without reading every attachment. */
const AGGREGATES_TAG = 'aggregates-only';
/** Storage prefix of recently revoked keys (survives eviction): their reconnects are refused. */
const REVOKED_PREFIX = 'revoked-key:';

const encoder = new TextEncoder();

/**
 * The subscribers of one hub: hibernatable WebSockets (kept by the runtime) and SSE streams (kept
 * here). Everything pushed goes through two coalescing timers, so the message rate per subscriber
 * is bounded whatever the event rate.
 */
export class Fanout {
  private sse = new Map<string, { writer: WritableStreamDefaultWriter<Uint8Array>; keyId?: string; aggregatesOnly: boolean; until?: number }>();
  private pending: LiveEvent[] = [];
  private eventsTimer: ReturnType<typeof setTimeout> | null = null;
  private statsTimer: ReturnType<typeof setTimeout> | null = null;
  private lastEventsAt = 0;
  private lastStatsAt = 0;
  private lastSlot = -1;
  /** Messages sent to each subscriber since start (benchmarks, tests). */
  sentPerSubscriber = 0;
  /** Open connections allowed (a hub holds at most 32,768 hibernating WebSockets); tests lower it. */
  maxConnections: number = LIMITS.liveConnectionsMax;
  /** Open connections one key may hold here (the root token has no key: only the cap above); tests lower it. */
  maxPerKey: number = LIMITS.liveConnectionsPerKey;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly stats: () => unknown,
    private readonly now: () => number,
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  connections(): number {
    return this.ctx.getWebSockets().length + this.sse.size;
  }

  /** A key's open connections: its tagged WebSockets and its SSE streams. */
  keyConnections(keyId: string): number {
    let n = this.ctx.getWebSockets(keyTag(keyId)).length;
    for (const s of this.sse.values()) if (s.keyId === keyId) n++;
    return n;
  }

  /** Answers an upgrade or an SSE request with a new subscriber. */
  connect(request: Request, info: { workspace: string; room?: string }): Response {
    if (this.connections() >= this.maxConnections) return tooMany(`at most ${this.maxConnections} live connections`);
    const keyId = request.headers.get(LIVE_KEY_HEADER) ?? undefined;
    if (keyId && this.revokedLately(keyId)) {
      return Response.json({ error: { code: 'unauthorized', message: 'unknown or revoked credential' } }, { status: 401 });
    }
    if (keyId && this.keyConnections(keyId) >= this.maxPerKey) {
      return tooMany(`this key holds ${this.maxPerKey} live connections here already, its maximum: close one, or use another key`);
    }
    const share = aggregatesOnlyUntil(request.headers.get(LIVE_AGGREGATES_HEADER));
    const limited = share !== undefined;
    if (share?.until !== undefined && share.until <= Date.now()) return shareEnded();
    const id = crypto.randomUUID();
    const connected = this.encode({ type: 'connected', data: { connectionId: id, workspace: info.workspace, ...(info.room ? { room: info.room } : {}), timestamp: new Date(this.now()).toISOString() } });
    const stats = () => this.encode({ type: 'stats', data: limited ? aggregatesOnly(this.stats()) : this.stats() } as LiveMessage);
    if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
      const pair = new WebSocketPair();
      const [client, server] = [pair[0], pair[1]];
      this.ctx.acceptWebSocket(server, [...(keyId ? [keyTag(keyId)] : []), ...(limited ? [AGGREGATES_TAG] : [])]);
      server.serializeAttachment({ id, room: info.room, keyId, ...(limited ? { aggregatesOnly: true, until: share.until } : {}) } satisfies Attachment);
      server.send(connected);
      server.send(stats());
      this.changed(); // the others' connection count changed
      return new Response(null, { status: 101, webSocket: client });
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.sse.set(id, { writer, keyId, aggregatesOnly: limited, until: share?.until });
    this.changed();
    void writer.write(encoder.encode(`retry: 2000\n\n${this.sseFrame(connected)}${this.sseFrame(stats())}`)).catch(() => this.dropSse(id));
    request.signal?.addEventListener('abort', () => this.dropSse(id));
    return new Response(readable, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
    });
  }

  private encode(msg: LiveMessage): string {
    return JSON.stringify(msg);
  }

  private sseFrame(json: string): string {
    const type = /^\{"type":"([a-z]+)"/.exec(json)?.[1] ?? 'message';
    return `event: ${type}\ndata: ${json.slice(json.indexOf('"data":') + 7, -1)}\n\n`;
  }

  /** Ends an SSE stream; `why` goes out first as an SSE comment (EventSource ignores it, a reader of the raw stream sees it). */
  private dropSse(id: string, why?: string): void {
    const w = this.sse.get(id)?.writer;
    if (!w) return;
    this.sse.delete(id);
    if (why) w.write(encoder.encode(`: ${why}\n\n`)).catch(() => {});
    w.close().catch(() => {});
  }

  private broadcast(msg: LiveMessage): void {
    const json = this.encode(msg);
    this.sentPerSubscriber++;
    // Share links' copy, serialized once and only when one listens: no events, stats without user ids.
    let limitedJson: string | null | undefined;
    const limitedCopy = () =>
      (limitedJson ??= msg.type === 'events' ? null : msg.type === 'stats' ? this.encode({ type: 'stats', data: aggregatesOnly(msg.data) } as LiveMessage) : json);
    const limited = new Set(this.ctx.getWebSockets(AGGREGATES_TAG));
    for (const ws of this.ctx.getWebSockets()) {
      const out = limited.has(ws) ? limitedCopy() : json;
      if (out === null) continue;
      try {
        ws.send(out);
      } catch {
        // closing socket: the runtime drops it
      }
    }
    if (this.sse.size) {
      const frames = new Map<string | null, Uint8Array | null>();
      const frameOf = (text: string | null) => {
        if (!frames.has(text)) frames.set(text, text === null ? null : encoder.encode(this.sseFrame(text)));
        return frames.get(text)!;
      };
      for (const [id, { writer: w, aggregatesOnly: only }] of this.sse) {
        const frame = frameOf(only ? limitedCopy() : json);
        if (!frame) continue;
        // A subscriber that stops reading is dropped rather than buffered without bound.
        if ((w.desiredSize ?? 0) < -1_000_000) this.dropSse(id);
        else w.write(frame).catch(() => this.dropSse(id));
      }
    }
  }

  /** Erasure: events of the user not yet sent to subscribers are not sent. */
  forgetUser(userId: string): void {
    this.pending = this.pending.filter((e) => e.userId !== userId);
  }

  /** Queues events for the next `events` message and marks the stats changed. */
  publish(events: LiveEvent[]): void {
    if (this.connections() === 0) return;
    this.pending.push(...events);
    if (this.pending.length > LIMITS.liveEventsPerMessage) this.pending.splice(0, this.pending.length - LIMITS.liveEventsPerMessage);
    const wait = this.lastEventsAt + FANOUT.eventsEveryMs - Date.now();
    // Outside the coalescing window the batch goes out now: the first event after a quiet spell is not delayed.
    if (wait <= 0 && !this.eventsTimer) this.flushEvents();
    else this.eventsTimer ??= setTimeout(() => this.flushEvents(), Math.max(0, wait));
    this.changed();
  }

  /** Something in the stats changed: push them within the coalescing window. */
  changed(): void {
    if (this.connections() === 0) return;
    const now = Date.now();
    // Events go first: stats (larger) follow an `events` push by a beat, so they never delay it.
    const at = Math.max(this.lastStatsAt + FANOUT.statsEveryMs, this.lastEventsAt + FANOUT.statsAfterEventsMs);
    this.statsTimer ??= setTimeout(() => this.flushStats(), Math.max(0, at - now));
  }

  private flushEvents(): void {
    this.eventsTimer = null;
    if (!this.pending.length) return;
    const data = this.pending;
    this.pending = [];
    this.lastEventsAt = Date.now();
    this.broadcast({ type: 'events', data });
  }

  private flushStats(): void {
    this.statsTimer = null;
    this.lastStatsAt = Date.now();
    this.broadcast({ type: 'stats', data: this.stats() } as LiveMessage);
  }

  /**
   * Heartbeats from the alarm, on a 15-second grid of wall-clock time (so they keep their rhythm
   * when the object hibernates between alarms): stats every slot, ping every other slot (30 s).
   * Returns when the next slot starts, or null without subscribers.
   */
  periodic(now = Date.now()): number | null {
    this.closeExpiredShares(now);
    if (this.connections() === 0) return null;
    const slot = Math.floor(now / FANOUT.statsAtLeastMs);
    if (slot !== this.lastSlot) {
      this.lastSlot = slot;
      if (now - this.lastStatsAt >= 1000) this.flushStats();
      if (slot % (FANOUT.pingEveryMs / FANOUT.statsAtLeastMs) === 0) {
        this.broadcast({ type: 'ping', data: { timestamp: new Date(this.now()).toISOString() } });
      }
    }
    return (slot + 1) * FANOUT.statsAtLeastMs;
  }

  /** When the next heartbeat slot starts, without sending anything; null without subscribers. */
  nextDue(): number | null {
    if (this.connections() === 0) return null;
    return (Math.floor(Date.now() / FANOUT.statsAtLeastMs) + 1) * FANOUT.statsAtLeastMs;
  }

  /** Closes every subscriber; returns how many there were. */
  closeAll(reason = 'closed by an administrator'): number {
    return this.close(this.ctx.getWebSockets(), [...this.sse.keys()], 4000, reason);
  }

  /**
   * A key (or share link) was revoked: closes the connections it opened (WebSockets with 4401 "key revoked", SSE
   * streams end) and refuses its reconnects while other isolates may still accept the key from
   * their caches. Returns how many were closed.
   */
  closeKey(keyId: string): number {
    const now = Date.now();
    const kv = this.ctx.storage.kv;
    for (const [name, until] of kv.list<number>({ prefix: REVOKED_PREFIX })) if (until <= now) kv.delete(name);
    kv.put(REVOKED_PREFIX + keyId, now + LIMITS.keyCacheMs);
    const sse = [...this.sse].filter(([, s]) => s.keyId === keyId).map(([id]) => id);
    return this.close(this.ctx.getWebSockets(keyTag(keyId)), sse, 4401, 'key revoked');
  }

  /** Share links' connections whose share has expired close (4401), on the heartbeat's grid: within its 15 s. */
  private closeExpiredShares(now: number): void {
    const sockets = this.ctx.getWebSockets(AGGREGATES_TAG).filter((ws) => {
      const until = (ws.deserializeAttachment() as Attachment | null)?.until;
      return until !== undefined && until <= now;
    });
    const sse = [...this.sse].filter(([, s]) => s.until !== undefined && s.until <= now).map(([id]) => id);
    if (sockets.length || sse.length) this.close(sockets, sse, 4401, 'share link expired');
  }

  private revokedLately(keyId: string): boolean {
    return (this.ctx.storage.kv.get<number>(REVOKED_PREFIX + keyId) ?? 0) > Date.now();
  }

  private close(sockets: WebSocket[], sseIds: string[], code: number, reason: string): number {
    for (const ws of sockets) {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    for (const id of sseIds) this.dropSse(id, reason);
    return sockets.length + sseIds.length;
  }
}

/** 401: the share link expired between the Worker's check and the hub. */
function shareEnded(): Response {
  return Response.json({ error: { code: 'unauthorized', message: 'this share link has ended' } }, { status: 401 });
}

/** 429: live connections are held, not spent, so a client may try again once one has closed. */
function tooMany(message: string): Response {
  return Response.json({ error: { code: 'rate_limited', message } }, { status: 429, headers: { 'retry-after': '30' } });
}

/** A client message that woke the hub: `{"type":"ping"}` is auto-answered, a differently spelled ping still gets a pong. */
export function answerSocket(ws: WebSocket, message: string | ArrayBuffer): void {
  if (typeof message === 'string' && message.includes('"ping"')) ws.send('{"type":"pong"}');
}

/** Completes the close handshake a client started (1005 "no status" cannot be sent back). */
export function closeSocket(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 ? 1000 : code, 'bye');
  } catch {
    // already closed
  }
}
