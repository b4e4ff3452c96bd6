/**
 * edgepulse server SDK (`edgepulse/client`): in-memory batching, retries with exponential backoff
 * and jitter, ids fixed before the first try (so a retry is a duplicate, never a second event).
 *
 *   const ep = new EdgePulse({ host: 'https://pulse.example.com', workspace: 'demo', key: 'pk_…' });
 *   ep.track({ type: 'message.sent', userId: 'u_42', durationMs: 182 });
 *   await ep.flush();
 *
 * Runs on Workers, Node ≥ 18, Deno and Bun (only `fetch`, timers and `crypto.getRandomValues`).
 */
import type { EventInput } from '../shared/events';

export type EdgePulseEvent = Omit<EventInput, 'timestamp'> & { timestamp?: string | number | Date };

export interface EdgePulseOptions {
  /** Origin of the edgepulse Worker, e.g. `https://pulse.example.com`. */
  host: string;
  /** Workspace slug. */
  workspace: string;
  /** An ingest (`pk_…`) or admin key. */
  key: string;
  /** Send as soon as this many events are queued (1–500, default 20). */
  flushAt?: number;
  /** Send what is queued after this long (default 5000 ms; 0: only on `flush()` or `flushAt`). */
  flushIntervalMs?: number;
  /**
   * Retries of a batch after the first try on network errors, 5xx, 408 and 429 (default 6). A 429 with
   * `Retry-After` (over the workspace's rate limit) is waited out as told and uses up no retry: the
   * batch goes again until it is taken, while `maxQueue` bounds what waits behind it.
   */
  maxRetries?: number;
  /** First backoff (default 200 ms), doubled each retry with jitter, capped at `retryMaxMs` (default 30 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Events held at most while the server is unreachable; the oldest are dropped beyond (default 10,000). */
  maxQueue?: number;
  /** Called with events that could not be delivered (rejected with 4xx, or retries used up). */
  onError?: (error: Error, events: PreparedEvent[]) => void;
  fetch?: typeof fetch;
}

export type PreparedEvent = Omit<EdgePulseEvent, 'timestamp'> & { id: string; timestamp: number };

const MAX_BATCH = 500;
/** Under the API's 1 MiB body limit with room to spare. */
const MAX_BATCH_BYTES = 900 * 1024;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A sortable, unique event id (time prefix + 80 random bits). */
export function eventId(now = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = now.toString(36).padStart(9, '0');
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DeliveryError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export class EdgePulse {
  private readonly opts: Required<Omit<EdgePulseOptions, 'onError' | 'fetch'>> & Pick<EdgePulseOptions, 'onError'>;
  private readonly doFetch: typeof fetch;
  private queue: PreparedEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Events acknowledged by the server (accepted or counted as duplicates), and given up on. */
  readonly stats = { delivered: 0, failed: 0, retries: 0 };

  constructor(options: EdgePulseOptions) {
    if (!options.host || !options.workspace || !options.key) throw new Error('EdgePulse needs host, workspace and key');
    this.opts = {
      host: options.host.replace(/\/+$/, ''),
      workspace: options.workspace,
      key: options.key,
      flushAt: Math.min(MAX_BATCH, Math.max(1, options.flushAt ?? 20)),
      flushIntervalMs: options.flushIntervalMs ?? 5000,
      maxRetries: options.maxRetries ?? 6,
      retryBaseMs: options.retryBaseMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 30_000,
      maxQueue: options.maxQueue ?? 10_000,
      onError: options.onError,
    };
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Queues one event; its id and timestamp are fixed now. Returns the id. */
  track(event: EdgePulseEvent): string {
    if (this.closed) throw new Error('EdgePulse: track() after close()');
    const ts = event.timestamp instanceof Date ? event.timestamp.getTime() : event.timestamp === undefined ? Date.now() : event.timestamp;
    const prepared = { ...event, id: event.id ?? eventId(), timestamp: typeof ts === 'string' ? Date.parse(ts) : ts } as PreparedEvent;
    this.queue.push(prepared);
    if (this.queue.length > this.opts.maxQueue) {
      const dropped = this.queue.splice(0, this.queue.length - this.opts.maxQueue);
      this.fail(new DeliveryError(`queue over ${this.opts.maxQueue} events: dropped the oldest`), dropped);
    }
    if (this.queue.length >= this.opts.flushAt) void this.flush();
    else this.schedule();
    return prepared.id;
  }

  /** Sends everything queued so far; resolves when it is delivered or given up on (never rejects). */
  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.chain = this.chain.then(() => this.drain());
    return this.chain;
  }

  /** Flushes and stops the timer; later `track()` calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.opts.flushIntervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushIntervalMs);
    // Node: a pending flush must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async drain(): Promise<void> {
    try {
      await this.drainQueue();
    } catch (err) {
      // e.g. an event JSON cannot encode (BigInt, cycles): drop what is queued rather than wedge every later flush
      this.fail(err as Error, this.queue.splice(0));
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length) {
      const batch: PreparedEvent[] = [];
      let bytes = 0;
      while (this.queue.length && batch.length < MAX_BATCH) {
        const size = JSON.stringify(this.queue[0]).length + 1;
        if (batch.length && bytes + size > MAX_BATCH_BYTES) break;
        bytes += size;
        batch.push(this.queue.shift()!);
      }
      await this.send(batch);
    }
  }

  private async send(batch: PreparedEvent[]): Promise<void> {
    const url = `${this.opts.host}/api/v1/workspaces/${encodeURIComponent(this.opts.workspace)}/events`;
    const body = JSON.stringify({ events: batch });
    for (let attempt = 0; ; attempt++) {
      let wait: number | undefined;
      let error: DeliveryError;
      let rateLimited = false;
      try {
        const res = await this.doFetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.opts.key}`, 'content-type': 'application/json' },
          body,
        });
        if (res.ok) {
          await res.body?.cancel();
          this.stats.delivered += batch.length;
          return;
        }
        const text = await res.text().catch(() => '');
        error = new DeliveryError(`edgepulse answered ${res.status}: ${text.slice(0, 300)}`, res.status);
        if (res.status === 400) return this.dropInvalid(batch, text, error);
        const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
        if (!retryable) return this.fail(error, batch);
        const header = res.headers.get('retry-after');
        const after = Number(header);
        if (header !== null && header.trim() !== '' && Number.isFinite(after) && after >= 0) {
          // A little jitter, so that clients told the same second do not all come back at once.
          wait = Math.min(after * 1000 + Math.random() * this.opts.retryBaseMs, this.opts.retryMaxMs);
          // Over the rate limit the server says when it will take the batch: that wait uses up no retry.
          rateLimited = res.status === 429;
        }
      } catch (err) {
        error = new DeliveryError(`edgepulse unreachable: ${(err as Error).message}`);
      }
      if (rateLimited) attempt--;
      else if (attempt >= this.opts.maxRetries) return this.fail(error, batch);
      this.stats.retries++;
      // Exponential backoff with "equal jitter": half fixed, half random, so retries spread out.
      const backoff = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** attempt);
      await sleep(wait ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }

  /** A batch is all or nothing: drop the events the 400 names and send the rest again (same ids). */
  private async dropInvalid(batch: PreparedEvent[], text: string, error: DeliveryError): Promise<void> {
    let bad = new Set<number>();
    try {
      const issues = (JSON.parse(text) as { error?: { issues?: Array<{ path?: string }> } }).error?.issues ?? [];
      bad = new Set(issues.map((i) => /^events\.(\d+)/.exec(i.path ?? '')?.[1]).filter((n): n is string => n !== undefined).map(Number));
    } catch {
      // not the API's error body: the whole batch is refused
    }
    const good = batch.filter((_, i) => !bad.has(i));
    if (bad.size === 0 || good.length === batch.length) return this.fail(error, batch);
    this.fail(error, batch.filter((_, i) => bad.has(i)));
    if (good.length) await this.send(good);
  }

  private fail(error: Error, events: PreparedEvent[]): void {
    this.stats.failed += events.length;
    try {
      this.opts.onError?.(error, events);
    } catch {
      // a failing error handler must not break delivery of later batches
    }
  }
}
