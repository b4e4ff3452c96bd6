import { startOfDay } from '../history/range';
import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';
import type { LiveEvent, Stats } from '../shared/live';
import { LiveGauges, type LiveGaugesJson } from './gauges';
import { decodeUsers, HyperLogLog } from './sketches';
import { BucketRing, SecondRing } from './windows';

const MIN = 60_000;
export const WINDOWS = { onlineMs: 5 * MIN, activeMs: 30 * MIN, sessionMs: 30 * MIN, latencyBuckets: 30, timelineBuckets: 60 } as const;
const DIMENSIONS = ['platform', 'device', 'browser', 'os', 'country'] as const;
type Dimension = (typeof DIMENSIONS)[number];
const RECENT_EVENTS = 20;
const RECENT_ERRORS = 10;
const TOP_USERS = 10;

interface UserEntry {
  lastSeen: number;
  /** Events since `day` (a start of day); stale when `day` is not today. */
  events: number;
  day: number;
  ctx: Partial<Record<Dimension, string>>;
}

export function toLiveEvent(e: NormalizedEvent, ts: number): LiveEvent {
  const out: LiveEvent = { id: e.id, type: e.type, userId: e.userId, room: e.room, timestamp: new Date(ts).toISOString() };
  if (e.error) out.error = e.error;
  return out;
}

/** Touches a key of a capped insertion-ordered map: it moves to the newest end; the oldest go beyond the cap. */
function touch<V>(map: Map<string, V>, key: string, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > cap) map.delete(map.keys().next().value as string);
}

/**
 * The live counters of a workspace (or of one room): bounded whatever the traffic. Windows use the
 * event time clamped to its receipt, so a late or future-dated event cannot skew "now".
 */
export class LiveState {
  private seconds = new SecondRing(3600, 2); // events, errors
  private bytes = new SecondRing(300, 2); // in, out
  private buckets = new BucketRing(WINDOWS.timelineBuckets);
  private users = new Map<string, UserEntry>();
  private sessions = new Map<string, number>();
  private day = -1;
  private usersToday = new HyperLogLog();
  private eventsToday = 0;
  private eventCounts = new Map<string, number>();
  private recentEvents: LiveEvent[] = [];
  private recentErrors: LiveEvent[] = [];
  gauges = new LiveGauges();

  constructor(private timezone: string) {}

  setTimezone(tz: string): void {
    this.timezone = tz;
  }

  /** Starts a new day's counters when `now` is past the day the state holds. */
  private rollDay(now: number): number {
    const today = startOfDay(now, this.timezone);
    if (today !== this.day) {
      if (today > this.day) {
        this.usersToday = new HyperLogLog();
        this.eventsToday = 0;
        this.eventCounts.clear();
      }
      this.day = Math.max(this.day, today);
    }
    return this.day;
  }

  /** Adds accepted events (in arrival order); returns them as the stream shows them. */
  add(events: NormalizedEvent[], now: number): LiveEvent[] {
    const today = this.rollDay(now);
    const out: LiveEvent[] = [];
    for (const e of events) {
      const ts = Math.min(e.ts, e.receivedAt);
      const sec = Math.floor(ts / 1000);
      this.seconds.add(sec, [1, e.error ? 1 : 0]);
      if (e.bytesIn || e.bytesOut) this.bytes.add(sec, [e.bytesIn ?? 0, e.bytesOut ?? 0]);
      this.buckets.add(ts, e.userId, e.durationMs);
      const isToday = ts >= today;
      if (isToday) {
        this.eventsToday++;
        if (this.eventCounts.has(e.type) || this.eventCounts.size < LIMITS.liveEventTypesMax) {
          this.eventCounts.set(e.type, (this.eventCounts.get(e.type) ?? 0) + 1);
        }
      }
      if (e.gauges) for (const [name, v] of Object.entries(e.gauges)) this.gauges.add(name, v, ts);
      if (e.userId) this.addUser(e, ts, today, isToday);
      if (e.sessionId) touch(this.sessions, e.sessionId, Math.max(ts, this.sessions.get(e.sessionId) ?? 0), LIMITS.liveSessionsMax);
      const live = toLiveEvent(e, ts);
      out.push(live);
      this.recentEvents.unshift(live);
      if (e.error) this.recentErrors.unshift(live);
    }
    this.recentEvents.length = Math.min(this.recentEvents.length, RECENT_EVENTS);
    this.recentErrors.length = Math.min(this.recentErrors.length, RECENT_ERRORS);
    return out;
  }

  private addUser(e: NormalizedEvent, ts: number, today: number, isToday: boolean): void {
    const userId = e.userId!;
    const prev = this.users.get(userId);
    const entry: UserEntry = prev ?? { lastSeen: 0, events: 0, day: today, ctx: {} };
    if (entry.day !== today) {
      entry.day = today;
      entry.events = 0;
    }
    if (isToday) {
      entry.events++;
      this.usersToday.add(userId);
    }
    if (ts >= entry.lastSeen) {
      entry.lastSeen = ts;
      for (const d of DIMENSIONS) if (e.context[d]) entry.ctx[d] = e.context[d];
    }
    touch(this.users, userId, entry, LIMITS.liveUsersMax);
  }

  /** Erasure: the user leaves the recent lists and the per-user entries (top users); anonymous counters stay. Returns the rooms of the events removed. */
  eraseUser(userId: string): Set<string> {
    const rooms = new Set<string>();
    const keep = (list: LiveEvent[]) =>
      list.filter((e) => {
        if (e.userId !== userId) return true;
        if (e.room) rooms.add(e.room);
        return false;
      });
    this.recentEvents = keep(this.recentEvents);
    this.recentErrors = keep(this.recentErrors);
    this.users.delete(userId);
    return rooms;
  }

  snapshot(now: number, extra: { connections: number; rooms: Stats['rooms'] }): Stats {
    const today = this.rollDay(now);
    const nowSec = Math.floor(now / 1000);
    let online = 0;
    let active = 0;
    // Maps, not objects: a value such as "constructor" or "__proto__" is counted like any other.
    const counts = new Map(DIMENSIONS.map((d) => [d, new Map<string, number>()]));
    const top: Array<{ userId: string; events: number }> = [];
    for (const [userId, u] of this.users) {
      if (u.lastSeen >= now - WINDOWS.activeMs) active++;
      if (u.lastSeen >= now - WINDOWS.onlineMs) {
        online++;
        for (const d of DIMENSIONS) {
          const v = u.ctx[d];
          if (v) counts.get(d)!.set(v, (counts.get(d)!.get(v) ?? 0) + 1);
        }
      }
      if (u.day === today && u.events > 0) top.push({ userId, events: u.events });
    }
    const distribution = Object.fromEntries([...counts].map(([d, m]) => [d, Object.fromEntries(m)])) as Stats['distribution'];
    top.sort((a, b) => b.events - a.events || (a.userId < b.userId ? -1 : 1));
    let activeSessions = 0;
    for (const last of this.sessions.values()) if (last >= now - WINDOWS.sessionMs) activeSessions++;
    const eventsLastHour = this.seconds.sum(0, nowSec, 3600);
    const errorsLastHour = this.seconds.sum(1, nowSec, 3600);
    const latency = this.buckets.latency(now, WINDOWS.latencyBuckets);
    const q = (p: number) => (latency ? round(latency.getValueAtQuantile(p), 3) : null);
    return {
      timestamp: new Date(now).toISOString(),
      onlineUsers: online,
      activeUsers: active,
      usersToday: this.usersToday.estimate(),
      activeSessions,
      connections: extra.connections,
      eventsPerSecond: round(this.seconds.sum(0, nowSec, 10) / 10, 3),
      eventsLastMinute: this.seconds.sum(0, nowSec, 60),
      eventsLastHour,
      eventsToday: this.eventsToday,
      errorsLastHour,
      errorRate: eventsLastHour ? round(errorsLastHour / eventsLastHour, 6) : 0,
      latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
      bandwidth: {
        bytesInPerSecond: round(this.bytes.sum(0, nowSec, 300) / 300, 3),
        bytesOutPerSecond: round(this.bytes.sum(1, nowSec, 300) / 300, 3),
      },
      eventCounts: Object.fromEntries(this.eventCounts),
      rooms: extra.rooms,
      distribution,
      recentEvents: this.recentEvents.slice(),
      recentErrors: this.recentErrors.slice(),
      topUsers: top.slice(0, TOP_USERS),
      timeline: this.buckets.timeline(now, WINDOWS.timelineBuckets),
      gauges: this.gauges.snapshot(now),
    };
  }

  /** Everything needed to continue after a restart, as JSON-able data. */
  toJSON(): LiveStateJson {
    return {
      v: 1,
      day: this.day,
      seconds: this.seconds.toJSON(),
      bytes: this.bytes.toJSON(),
      buckets: this.buckets.toJSON(),
      users: [...this.users].map(([id, u]) => [id, u.lastSeen, u.events, u.day, u.ctx]),
      sessions: [...this.sessions],
      usersToday: this.usersToday.encode(),
      eventsToday: this.eventsToday,
      eventCounts: [...this.eventCounts],
      recentEvents: this.recentEvents,
      recentErrors: this.recentErrors,
      gauges: this.gauges.toJSON(),
    };
  }

  static fromJSON(json: LiveStateJson | undefined, timezone: string): LiveState {
    const s = new LiveState(timezone);
    if (!json || json.v !== 1) return s;
    s.day = json.day;
    s.seconds.load(json.seconds);
    s.bytes.load(json.bytes);
    s.buckets.load(json.buckets);
    for (const [id, lastSeen, events, day, ctx] of json.users) s.users.set(id, { lastSeen, events, day, ctx });
    s.sessions = new Map(json.sessions);
    s.usersToday = decodeUsers(json.usersToday);
    s.eventsToday = json.eventsToday;
    s.eventCounts = new Map(json.eventCounts);
    s.recentEvents = json.recentEvents;
    s.recentErrors = json.recentErrors;
    s.gauges = LiveGauges.fromJSON(json.gauges);
    return s;
  }
}

export interface LiveStateJson {
  v: 1;
  day: number;
  seconds: number[][];
  bytes: number[][];
  buckets: ReturnType<BucketRing['toJSON']>;
  users: Array<[string, number, number, number, UserEntry['ctx']]>;
  sessions: Array<[string, number]>;
  usersToday: string;
  eventsToday: number;
  eventCounts: Array<[string, number]>;
  recentEvents: LiveEvent[];
  recentErrors: LiveEvent[];
  /** Absent in snapshots from before gauges. */
  gauges?: LiveGaugesJson;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
