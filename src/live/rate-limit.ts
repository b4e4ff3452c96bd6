import { LIMITS } from '../shared/limits';

/** A refused request: how long until the bucket holds enough for it, and the limit it met. */
export interface RateLimited {
  rateLimited: { retryAfterSeconds: number; eventsPerSecond: number };
}

export const isRateLimited = (result: object): result is RateLimited => 'rateLimited' in result;

/**
 * A token bucket counted in events: it holds `burstSeconds` seconds' worth of the rate, refills
 * continuously, and a request takes one token per event. Kept in memory by the workspace's hub (its
 * single writer), so a restart refills it. A request larger than the whole bucket (a batch of 500
 * under a limit below 50/s) is taken once the bucket is full and paid back before the next.
 */
export class TokenBucket {
  private tokens = Number.NaN;
  private at = 0;
  private rate = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly burstSeconds: number = LIMITS.rateLimitBurstSeconds,
  ) {}

  /** Takes `n` tokens at `eventsPerSecond`, or answers in how many whole seconds (≥ 1) enough will be there. */
  take(n: number, eventsPerSecond: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const capacity = eventsPerSecond * this.burstSeconds;
    const now = this.now();
    if (Number.isNaN(this.tokens)) this.tokens = capacity;
    // The rate given now refills the time since the last request: a changed limit counts from then on.
    else this.tokens = Math.min(capacity, this.tokens + (Math.max(0, now - this.at) / 1000) * eventsPerSecond);
    this.at = now;
    this.rate = eventsPerSecond;
    const need = Math.min(n, capacity);
    if (this.tokens >= need) {
      this.tokens -= n;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - this.tokens) / eventsPerSecond)) };
  }

  /** Gives back what a request took when it was not stored after all (its commit failed). */
  refund(n: number): void {
    this.tokens = Math.min(this.rate * this.burstSeconds, this.tokens + n);
  }
}
