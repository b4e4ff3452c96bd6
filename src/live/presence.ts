import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';
import type { Participant } from '../shared/live';
import { ConcurrencyTracker, type ConcurrencyJson } from './concurrency';

interface Member {
  userId: string;
  name?: string;
  platform?: string;
  joinedAt: number;
  lastHeard: number;
  /** Sent a heartbeat: a browser viewer, which leaves when unheard of for the timeout. */
  viewer: boolean;
}

interface RoomState {
  members: Map<string, Member>;
  peak: number;
  totalJoins: number;
  staySum: number;
  stays: number;
  lastActivity: number;
}

export interface RoomPresence {
  room: string;
  current: number;
  peak: number;
  totalJoins: number;
  avgSecondsInRoom: number | null;
  participants: Participant[];
}

const RECENT_ROOM_MS = 30 * 60_000;

/**
 * Who is in each room of a workspace, from presence.join / leave / heartbeat. The workspace hub is
 * the single writer, so counts are exact; each RoomHub is told its room's presence.
 */
export class Presence {
  private rooms = new Map<string, RoomState>();
  /** Concurrency per minute, told every join and leave (the hub's alarm closes quiet minutes). */
  readonly concurrency = new ConcurrencyTracker();

  /** Applies a batch; returns the rooms it touched. */
  apply(events: NormalizedEvent[]): Set<string> {
    const touched = new Set<string>();
    for (const e of events) {
      if (!e.room) continue;
      const ts = Math.min(e.ts, e.receivedAt);
      const room = this.room(e.room, ts);
      touched.add(e.room);
      if (e.type === 'room.finished') {
        // A finished room holds nobody, whoever did not say goodbye.
        for (const member of [...room.members.values()]) this.leave(e.room, room, member, ts);
        continue;
      }
      if (!e.userId || !e.type.startsWith('presence.')) continue;
      const member = room.members.get(e.userId);
      if (e.type === 'presence.leave') {
        if (member) this.leave(e.room, room, member, ts);
        continue;
      }
      if (e.type !== 'presence.join' && e.type !== 'presence.heartbeat') continue;
      const name = typeof e.properties.name === 'string' ? e.properties.name : undefined;
      const platform = e.context.platform;
      if (member) {
        member.lastHeard = Math.max(member.lastHeard, ts);
        member.viewer ||= e.type === 'presence.heartbeat';
        if (name) member.name = name;
        if (platform) member.platform = platform;
      } else if (room.members.size < LIMITS.liveParticipantsMax) {
        room.members.set(e.userId, { userId: e.userId, name, platform, joinedAt: ts, lastHeard: ts, viewer: e.type === 'presence.heartbeat' });
        room.totalJoins++;
        room.peak = Math.max(room.peak, room.members.size);
        this.concurrency.join(e.room, e.userId, ts);
      }
    }
    return touched;
  }

  private room(name: string, ts: number): RoomState {
    let room = this.rooms.get(name);
    if (!room) {
      room = { members: new Map(), peak: 0, totalJoins: 0, staySum: 0, stays: 0, lastActivity: ts };
      this.rooms.set(name, room);
      if (this.rooms.size > LIMITS.liveRoomsMax) this.evictOne(name, ts);
    }
    room.lastActivity = Math.max(room.lastActivity, ts);
    return room;
  }

  /** Forgets the least recently active room, preferring empty ones. */
  private evictOne(keep: string, at: number): void {
    let victim: string | undefined;
    let victimScore = Infinity;
    for (const [name, r] of this.rooms) {
      if (name === keep) continue;
      const score = r.lastActivity + (r.members.size ? 1e15 : 0);
      if (score < victimScore) {
        victim = name;
        victimScore = score;
      }
    }
    if (!victim) return;
    for (const m of this.rooms.get(victim)!.members.values()) this.concurrency.leave(victim, m.userId, at);
    this.rooms.delete(victim);
  }

  private leave(name: string, room: RoomState, member: Member, at: number, presentUntil = at): void {
    room.members.delete(member.userId);
    this.concurrency.leave(name, member.userId, presentUntil);
    room.staySum += Math.max(0, at - member.joinedAt);
    room.stays++;
  }

  /** Viewers unheard of for the timeout have left (at their last heartbeat); returns the rooms changed. */
  expire(now: number): Set<string> {
    const gone: Array<{ name: string; room: RoomState; m: Member }> = [];
    for (const [name, room] of this.rooms) {
      for (const m of room.members.values()) if (m.viewer && m.lastHeard + LIMITS.presenceTimeoutMs <= now) gone.push({ name, room, m });
    }
    // In time order: concurrency accounts time only forward.
    gone.sort((a, b) => a.m.lastHeard - b.m.lastHeard);
    // The stay ends at the last heartbeat; concurrency counted the viewer until the timeout, as the live view did.
    for (const { name, room, m } of gone) this.leave(name, room, m, m.lastHeard, m.lastHeard + LIMITS.presenceTimeoutMs);
    return new Set(gone.map((g) => g.name));
  }

  /** When the next viewer times out, if any. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const room of this.rooms.values()) {
      for (const m of room.members.values()) {
        if (m.viewer && (next === null || m.lastHeard + LIMITS.presenceTimeoutMs < next)) next = m.lastHeard + LIMITS.presenceTimeoutMs;
      }
    }
    return next;
  }

  /** Rooms with someone in them or activity in the last 30 minutes, fullest first. */
  summary(now: number): Array<{ room: string; current: number; peak: number }> {
    const out = [];
    for (const [room, r] of this.rooms) {
      if (r.members.size > 0 || r.lastActivity >= now - RECENT_ROOM_MS) out.push({ room, current: r.members.size, peak: r.peak });
    }
    return out.sort((a, b) => b.current - a.current || (a.room < b.room ? -1 : 1));
  }

  view(name: string): RoomPresence {
    const r = this.rooms.get(name);
    if (!r) return { room: name, current: 0, peak: 0, totalJoins: 0, avgSecondsInRoom: null, participants: [] };
    const participants: Participant[] = [];
    for (const m of r.members.values()) {
      if (participants.length >= LIMITS.liveParticipantsListed) break;
      const p: Participant = { userId: m.userId, joinedAt: new Date(m.joinedAt).toISOString() };
      if (m.name) p.name = m.name;
      if (m.platform) p.platform = m.platform;
      participants.push(p);
    }
    return {
      room: name,
      current: r.members.size,
      peak: r.peak,
      totalJoins: r.totalJoins,
      avgSecondsInRoom: r.stays ? Math.round(r.staySum / r.stays / 10) / 100 : null,
      participants,
    };
  }

  toJSON(): PresenceJson {
    return [...this.rooms].map(([name, r]) => [name, r.peak, r.totalJoins, r.staySum, r.stays, r.lastActivity, [...r.members.values()]]);
  }

  static fromJSON(json: PresenceJson | undefined, concurrency?: ConcurrencyJson): Presence {
    const p = new Presence();
    for (const [name, peak, totalJoins, staySum, stays, lastActivity, members] of json ?? []) {
      p.rooms.set(name, { peak, totalJoins, staySum, stays, lastActivity, members: new Map(members.map((m) => [m.userId, m])) });
    }
    p.concurrency.restore(concurrency, [...p.rooms].flatMap(([room, r]) => [...r.members.keys()].map((userId) => ({ room, userId }))));
    return p;
  }
}

export type PresenceJson = Array<[string, number, number, number, number, number, Member[]]>;
