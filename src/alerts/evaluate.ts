import type { DDSketch } from '@datadog/sketches-js';
import type { NormalizedEvent } from '../ingest/types';
import { decodeLatency, encodeDurations, newDurations, acceptDuration } from '../live/sketches';
import type { AlertFilter, AlertMetric } from '../shared/alerts';
import { LIMITS } from '../shared/limits';

/**
 * Alert evaluation, pure: per-filter minute rings fed by accepted events, a rule's value over its
 * window, and the state machine (pending → firing → resolved, with a minimum time before re-firing).
 */

const MIN = 60_000;
/** 60 whole minutes plus the current one. */
const RING_MINUTES = 61;

/** What a rule's condition is made of: a change of any of these resets its pending timer. */
export interface RuleCondition {
  metric: AlertMetric;
  filter: AlertFilter;
  op: '>' | '<';
  threshold: number;
  windowMinutes: number;
  forMinutes: number;
}

export function conditionKey(c: RuleCondition): string {
  const f = c.filter;
  return JSON.stringify([c.metric, f.type ?? null, f.room ?? null, f.gauge ?? null, c.op, c.threshold, c.windowMinutes, c.forMinutes]);
}

/** Metrics read from the events in the window (the others are the live numbers now). */
const WINDOWED = new Set<AlertMetric>(['eventsPerSecond', 'events', 'errors', 'errorRate', 'latencyP95', 'latencyP99', 'gauge']);

/** The feed a rule reads, or null when its metric is a live number (online users, participants). */
export function feedKeyOf(c: RuleCondition): string | null {
  if (!WINDOWED.has(c.metric)) return null;
  return JSON.stringify([c.filter.type ?? null, c.filter.room ?? null, c.metric === 'gauge' ? (c.filter.gauge ?? null) : null]);
}

interface Minute {
  m: number;
  events: number;
  errors: number;
  durations: DDSketch | null;
  gaugeSum: number;
  gaugeCount: number;
}

export type MinuteJson = [number, number, number, string | null, number, number];
export interface FeedJson {
  key: string;
  startedAt: number;
  durations: boolean;
  minutes: MinuteJson[];
}

/** What one window of a feed holds. */
export interface WindowTotals {
  events: number;
  errors: number;
  durations: DDSketch | null;
  gaugeSum: number;
  gaugeCount: number;
}

/**
 * Events of one filter (type and/or room, and the gauge a gauge rule reads), by minute over the
 * last hour: shared by every rule with that filter, bounded whatever the traffic.
 */
export class Feed {
  private readonly type: string | null;
  private readonly room: string | null;
  private readonly gauge: string | null;
  private readonly slots: Array<Minute | undefined> = new Array(RING_MINUTES);

  constructor(readonly key: string, readonly startedAt: number, public durations: boolean) {
    [this.type, this.room, this.gauge] = JSON.parse(key) as [string | null, string | null, string | null];
  }

  private slot(m: number): Minute | undefined {
    const i = m % RING_MINUTES;
    const cur = this.slots[i];
    if (cur && cur.m === m) return cur;
    if (cur && cur.m > m) return undefined; // older than the hour the ring covers
    const fresh: Minute = { m, events: 0, errors: 0, durations: null, gaugeSum: 0, gaugeCount: 0 };
    this.slots[i] = fresh;
    return fresh;
  }

  /** Adds the events of a batch that match the filter; true when any did. */
  add(events: NormalizedEvent[]): boolean {
    let hit = false;
    for (const e of events) {
      if ((this.type !== null && e.type !== this.type) || (this.room !== null && e.room !== this.room)) continue;
      // As the live windows do: the event time, clamped to its receipt.
      const minute = this.slot(Math.floor(Math.min(e.ts, e.receivedAt) / MIN));
      if (!minute) continue;
      hit = true;
      minute.events++;
      if (e.error) minute.errors++;
      if (this.durations && e.durationMs !== null) acceptDuration((minute.durations ??= newDurations()), e.durationMs);
      if (this.gauge !== null) {
        const sample = e.gauges?.[this.gauge];
        if (typeof sample === 'number' && Number.isFinite(sample)) {
          minute.gaugeSum += sample;
          minute.gaugeCount++;
        }
      }
    }
    return hit;
  }

  /**
   * Totals over (now − minutes, now]: the whole minutes inside it, and the share of the oldest
   * minute that is still inside (counts assume an even rate within a minute; a sketch is kept whole).
   */
  window(now: number, minutes: number): WindowTotals {
    const nowM = Math.floor(now / MIN);
    const oldest = nowM - minutes;
    const oldestShare = 1 - (now - nowM * MIN) / MIN;
    const out: WindowTotals = { events: 0, errors: 0, durations: null, gaugeSum: 0, gaugeCount: 0 };
    for (const s of this.slots) {
      if (!s || s.m < oldest || s.m > nowM) continue;
      const w = s.m === oldest ? oldestShare : 1;
      if (w <= 0) continue;
      out.events += s.events * w;
      out.errors += s.errors * w;
      out.gaugeSum += s.gaugeSum * w;
      out.gaugeCount += s.gaugeCount * w;
      if (s.durations) (out.durations ??= newDurations()).merge(s.durations);
    }
    return out;
  }

  toJSON(): FeedJson {
    const minutes = this.slots
      .filter((s): s is Minute => !!s)
      .map((s): MinuteJson => [s.m, s.events, s.errors, s.durations ? encodeDurations(s.durations) : null, s.gaugeSum, s.gaugeCount]);
    return { key: this.key, startedAt: this.startedAt, durations: this.durations, minutes };
  }

  static fromJSON(json: FeedJson): Feed {
    const feed = new Feed(json.key, json.startedAt, json.durations);
    for (const [m, events, errors, durations, gaugeSum, gaugeCount] of json.minutes) {
      feed.slots[m % RING_MINUTES] = { m, events, errors, durations: decodeLatency(durations), gaugeSum, gaugeCount };
    }
    return feed;
  }
}

/** The live numbers a rule may read now (from the hub's live state and presence). */
export interface LiveNumbers {
  onlineUsers(): number;
  /** The room's current participants. */
  participants(room: string): number;
  /** The participants of the fullest room (0 without rooms). */
  fullestRoom(): number;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** Counts that a window not yet watched whole understates (a `<` rule on them would fire on the empty past). */
const COUNTS = new Set<AlertMetric>(['eventsPerSecond', 'events', 'errors']);

/**
 * The rule's value now, or null when there is none: a latency or gauge without samples in the window,
 * or a `<` rule on a count whose feed has not yet watched a whole window (rates, percentiles and means
 * are judged on what was seen, and a count above its threshold only grows with more of the window).
 */
export function metricValue(c: RuleCondition, feed: Feed | undefined, now: number, live: LiveNumbers): number | null {
  switch (c.metric) {
    case 'onlineUsers':
      return c.filter.room ? live.participants(c.filter.room) : live.onlineUsers();
    case 'roomParticipants':
      return c.filter.room ? live.participants(c.filter.room) : live.fullestRoom();
    default:
      break;
  }
  if (!feed || (c.op === '<' && COUNTS.has(c.metric) && now - feed.startedAt < c.windowMinutes * MIN)) return null;
  const w = feed.window(now, c.windowMinutes);
  switch (c.metric) {
    case 'eventsPerSecond':
      return round(w.events / (c.windowMinutes * 60));
    case 'events':
      return round(w.events);
    case 'errors':
      return round(w.errors);
    case 'errorRate':
      return w.events > 0 ? round(w.errors / w.events) : 0;
    case 'latencyP95':
    case 'latencyP99':
      return w.durations && w.durations.count > 0 ? round(w.durations.getValueAtQuantile(c.metric === 'latencyP95' ? 0.95 : 0.99)) : null;
    case 'gauge':
      return w.gaugeCount > 0 ? round(w.gaugeSum / w.gaugeCount) : null;
  }
}

export function holds(c: RuleCondition, value: number | null): boolean {
  if (value === null) return false;
  return c.op === '>' ? value > c.threshold : value < c.threshold;
}

/** A rule's evaluation state, kept in the hub's storage. */
export interface RuleState {
  state: 'ok' | 'firing';
  /** When the rule entered `state` (null before its first transition). */
  since: number | null;
  /** The value at the last transition. */
  value: number | null;
  /** Since when the condition has held without a break (null: it does not hold). */
  pendingSince: number | null;
  /** The last resolve: no new firing before LIMITS.alertRefireAfterMs after it. */
  resolvedAt: number | null;
  /** Transitions so far: the `webhook-id` of the next one is derived from it. */
  seq: number;
  conditionKey: string;
}

export interface Transition {
  to: 'firing' | 'ok';
  at: number;
  value: number | null;
  seq: number;
}

/**
 * One evaluation of one rule. Fires once the condition has held for `forMinutes` (0: at once) and at
 * least LIMITS.alertRefireAfterMs after the last resolve; resolves as soon as it no longer holds.
 * Returns the new state (the same object when nothing changed) and the transition, if any.
 */
export function step(s: RuleState, c: RuleCondition, value: number | null, now: number): { state: RuleState; transition?: Transition } {
  if (!holds(c, value)) {
    if (s.state === 'firing') {
      const seq = s.seq + 1;
      return { state: { ...s, state: 'ok', since: now, value, pendingSince: null, resolvedAt: now, seq }, transition: { to: 'ok', at: now, value, seq } };
    }
    return { state: s.pendingSince === null ? s : { ...s, pendingSince: null } };
  }
  const pendingSince = s.pendingSince ?? now;
  const held = now - pendingSince >= c.forMinutes * MIN;
  const rested = s.resolvedAt === null || now - s.resolvedAt >= LIMITS.alertRefireAfterMs;
  if (s.state === 'ok' && held && rested) {
    const seq = s.seq + 1;
    return { state: { ...s, state: 'firing', since: now, value, pendingSince, seq }, transition: { to: 'firing', at: now, value, seq } };
  }
  return { state: pendingSince === s.pendingSince ? s : { ...s, pendingSince } };
}

/** A rule switched off while firing resolves (its receiver is not left with an open alert). */
export function disable(s: RuleState, now: number): { state: RuleState; transition?: Transition } {
  if (s.state !== 'firing') return { state: s.pendingSince === null ? s : { ...s, pendingSince: null } };
  const seq = s.seq + 1;
  return { state: { ...s, state: 'ok', since: now, value: null, pendingSince: null, resolvedAt: now, seq }, transition: { to: 'ok', at: now, value: null, seq } };
}
