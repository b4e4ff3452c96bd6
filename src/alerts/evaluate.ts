import type { DDSketch } from '@datadog/sketches-js';
import type { NormalizedEvent } from '../ingest/types';
import { decodeLatency, encodeDurations, newDurations, acceptDuration } from '../live/sketches';
import type { AlertFilter, AlertMetric } from '../shared/alerts';
import { LIMITS } from '../shared/limits';

/**
 * Alert evaluation, pure: per-filter rings (10-second counts, minute latency sketches) fed by accepted events, a rule's value over its
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

/** Counts by 10 seconds (a window's edge is off by at most that), percentiles by minute. */
const SLOT_MS = 10_000;
const SLOTS = (RING_MINUTES * MIN) / SLOT_MS;

interface Slot {
  s: number;
  events: number;
  errors: number;
  gaugeSum: number;
  gaugeCount: number;
}

interface LatencyMinute {
  m: number;
  durations: DDSketch;
}

export interface FeedJson {
  key: string;
  startedAt: number;
  durations: boolean;
  /** [slot, events, errors, gaugeSum, gaugeCount] */
  slots: Array<[number, number, number, number, number]>;
  /** [minute, encoded DDSketch] */
  latency: Array<[number, string | null]>;
}

/** What one window of a feed holds. */
export interface WindowTotals {
  events: number;
  errors: number;
  durations: DDSketch | null;
  gaugeSum: number;
  gaugeCount: number;
}

/** The ring entry for `index`, made afresh when it holds an older one; undefined when `index` is older than the ring. */
function ringEntry<T extends object>(ring: Array<T | undefined>, index: number, indexOf: (t: T) => number, fresh: () => T): T | undefined {
  const i = index % ring.length;
  const cur = ring[i];
  if (cur && indexOf(cur) === index) return cur;
  if (cur && indexOf(cur) > index) return undefined;
  return (ring[i] = fresh());
}

/**
 * Events of one filter (type and/or room, and the gauge a gauge rule reads) over the last hour, in
 * 10-second slots (and latency sketches by minute when a rule reads them): shared by every rule with
 * that filter, bounded whatever the traffic.
 */
export class Feed {
  private readonly type: string | null;
  private readonly room: string | null;
  private readonly gauge: string | null;
  private readonly slots: Array<Slot | undefined> = new Array(SLOTS);
  private readonly latency: Array<LatencyMinute | undefined> = new Array(RING_MINUTES);
  /** Latency of the whole minutes before `nowM`, merged once per minute and window length (merging is the costly part). */
  private readonly pastLatency = new Map<number, { nowM: number; merged: DDSketch | null }>();

  constructor(readonly key: string, readonly startedAt: number, public durations: boolean) {
    [this.type, this.room, this.gauge] = JSON.parse(key) as [string | null, string | null, string | null];
  }

  /** Adds the events of a batch that match the filter; true when any did. */
  add(events: NormalizedEvent[]): boolean {
    let hit = false;
    for (const e of events) {
      if ((this.type !== null && e.type !== this.type) || (this.room !== null && e.room !== this.room)) continue;
      // As the live windows do: the event time, clamped to its receipt.
      const ts = Math.min(e.ts, e.receivedAt);
      const slot = ringEntry(this.slots, Math.floor(ts / SLOT_MS), (x) => x.s, () => ({ s: Math.floor(ts / SLOT_MS), events: 0, errors: 0, gaugeSum: 0, gaugeCount: 0 }));
      if (!slot) continue;
      hit = true;
      slot.events++;
      if (e.error) slot.errors++;
      if (this.gauge !== null) {
        const sample = e.gauges?.[this.gauge];
        if (typeof sample === 'number' && Number.isFinite(sample)) {
          slot.gaugeSum += sample;
          slot.gaugeCount++;
        }
      }
      if (this.durations && e.durationMs !== null) {
        const m = Math.floor(ts / MIN);
        const minute = ringEntry(this.latency, m, (x) => x.m, () => ({ m, durations: newDurations() }));
        if (minute) acceptDuration(minute.durations, e.durationMs);
        // A late event in a minute already merged: that merge is stale.
        for (const [minutes, past] of this.pastLatency) if (m < past.nowM) this.pastLatency.delete(minutes);
      }
    }
    return hit;
  }

  /**
   * Totals over (now − minutes, now]: the whole slots inside it and the share of the oldest slot still
   * inside (an even rate within 10 s); latency from the minutes the window touches.
   */
  window(now: number, minutes: number): WindowTotals {
    const nowS = Math.floor(now / SLOT_MS);
    const oldest = nowS - (minutes * MIN) / SLOT_MS;
    const oldestShare = 1 - (now - nowS * SLOT_MS) / SLOT_MS;
    const out: WindowTotals = { events: 0, errors: 0, durations: null, gaugeSum: 0, gaugeCount: 0 };
    for (const s of this.slots) {
      if (!s || s.s < oldest || s.s > nowS) continue;
      const w = s.s === oldest ? oldestShare : 1;
      out.events += s.events * w;
      out.errors += s.errors * w;
      out.gaugeSum += s.gaugeSum * w;
      out.gaugeCount += s.gaugeCount * w;
    }
    out.durations = this.latencyWindow(now, minutes);
    return out;
  }

  /** Durations of the minutes the window touches: the past ones merged once a minute, plus the current one. */
  private latencyWindow(now: number, minutes: number): DDSketch | null {
    const nowM = Math.floor(now / MIN);
    let past = this.pastLatency.get(minutes);
    if (!past || past.nowM !== nowM) {
      let merged: DDSketch | null = null;
      for (const l of this.latency) if (l && l.m >= nowM - minutes && l.m < nowM) (merged ??= newDurations()).merge(l.durations);
      this.pastLatency.set(minutes, (past = { nowM, merged }));
    }
    const cur = this.latency[nowM % RING_MINUTES];
    const current = cur && cur.m === nowM ? cur.durations : null;
    if (!past.merged && !current) return null;
    const out = newDurations();
    if (past.merged) out.merge(past.merged);
    if (current) out.merge(current);
    return out;
  }

  toJSON(): FeedJson {
    return {
      key: this.key,
      startedAt: this.startedAt,
      durations: this.durations,
      slots: this.slots.filter((s): s is Slot => !!s).map((s) => [s.s, s.events, s.errors, s.gaugeSum, s.gaugeCount]),
      latency: this.latency.filter((l): l is LatencyMinute => !!l).map((l) => [l.m, encodeDurations(l.durations)]),
    };
  }

  static fromJSON(json: FeedJson): Feed {
    const feed = new Feed(json.key, json.startedAt, json.durations);
    for (const [s, events, errors, gaugeSum, gaugeCount] of json.slots ?? []) feed.slots[s % SLOTS] = { s, events, errors, gaugeSum, gaugeCount };
    for (const [m, text] of json.latency ?? []) {
      const durations = decodeLatency(text);
      if (durations) feed.latency[m % RING_MINUTES] = { m, durations };
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
