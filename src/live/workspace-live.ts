import type { LiveNumbers } from '../alerts/evaluate';
import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import type { FiringAlert } from '../shared/alerts';
import type { LiveSnapshot, Stats } from '../shared/live';
import { Fanout } from './fanout';
import { LIMITS } from '../shared/limits';
import { LiveStore } from './live-store';
import { boundSnapshot } from './snapshot-bound';
import { Presence, type PresenceJson, type RoomPresence } from './presence';
import { LiveState, type LiveStateJson } from './stats';

interface Saved {
  state: LiveStateJson;
  presence: PresenceJson;
  /** The last outbox seq the snapshot covers: later outbox batches are replayed on load. */
  seq: number;
  watchedRooms: string[];
}

const WATCHED_ROOMS_MAX = 1_000;

/** The live half of a WorkspaceHub: counters, presence, subscribers and their snapshot in storage. */
export class WorkspaceLive {
  state: LiveState;
  presence: Presence;
  readonly fanout: Fanout;
  private readonly store: LiveStore;
  /** The highest outbox seq applied to the live state. */
  seq = 0;
  private savedAt = 0;
  /** The outbox seq the stored snapshot covers. */
  private savedSeq = 0;
  private dirty = false;
  /** A watched room not yet stored: DELETE …/live must find it after a restart, so it is saved at once. */
  private roomsDirty = false;
  /** Rooms whose RoomHub has had subscribers (DELETE …/live closes those too). */
  watchedRooms: Set<string>;
  /** The workspace's firing alert rules (the hub's alerts fill it in). */
  firingAlerts: () => FiringAlert[] = () => [];

  constructor(
    ctx: DurableObjectState,
    private readonly workspace: () => WorkspaceRef | undefined,
    private readonly now: () => number,
    replay: (after: number) => Array<{ seq: number; events: NormalizedEvent[] }>,
    private readonly onRoomsChanged: (rooms: RoomPresence[]) => void,
  ) {
    this.store = new LiveStore(ctx.storage.sql);
    const saved = this.store.load<Saved>();
    const tz = workspace()?.timezone ?? 'UTC';
    this.state = LiveState.fromJSON(saved?.state, tz);
    this.presence = Presence.fromJSON(saved?.presence);
    this.seq = saved?.seq ?? 0;
    this.savedSeq = this.seq;
    this.watchedRooms = new Set(saved?.watchedRooms ?? []);
    // Acknowledged batches the snapshot has not seen yet are still in the outbox: replay them.
    for (const batch of replay(this.seq)) this.apply(batch.events, batch.seq, Math.max(...batch.events.map((e) => e.receivedAt)));
    this.fanout = new Fanout(ctx, () => this.stats(), now);
  }

  get rowsWritten(): number {
    return this.store.rowsWritten;
  }

  /** Snapshot saves so far, and the characters and rows written by the last one. */
  get snapshots(): { saves: number; last: { chars: number; rows: number } } {
    return { saves: this.store.saves, last: this.store.last };
  }

  /** Applies an accepted batch (inside the outbox transaction); returns the rooms it touched. */
  apply(events: NormalizedEvent[], seq: number, now = this.now()): { rooms: Set<string>; live: ReturnType<LiveState['add']> } {
    const rooms = this.presence.apply(events);
    const live = this.state.add(events, now);
    this.seq = Math.max(this.seq, seq);
    this.dirty = true;
    return { rooms, live };
  }

  /**
   * Saves the snapshot if it changed and the last save is older than LIMITS.liveSnapshotEveryMs, whatever
   * the traffic. Forced (before a drain deletes outbox rows, which restarts replay): only when the stored
   * snapshot does not yet cover every applied batch, so at most once per drain.
   */
  saveIfDue(force = false): void {
    if (!this.dirty) return;
    const at = Date.now();
    if (force ? this.savedSeq >= this.seq && !this.roomsDirty : at - this.savedAt < LIMITS.liveSnapshotEveryMs) return;
    const state = this.state.toJSON();
    const saved: Saved = { state, presence: this.presence.toJSON(), seq: this.seq, watchedRooms: [...this.watchedRooms] };
    // Over the cap, the biggest parts lose their oldest entries: users and sessions long quiet, then rooms.
    const { text, trimmed } = boundSnapshot(saved, [
      { name: 'users', get: () => state.users, set: (kept) => (state.users = kept as typeof state.users) },
      { name: 'sessions', get: () => state.sessions, set: (kept) => (state.sessions = kept as typeof state.sessions) },
      { name: 'presence', get: () => saved.presence, set: (kept) => (saved.presence = kept as typeof saved.presence) },
      { name: 'watchedRooms', get: () => saved.watchedRooms, set: (kept) => (saved.watchedRooms = kept as string[]) },
    ], LIMITS.liveSnapshotMaxBytes);
    if (Object.keys(trimmed).length) console.warn('live snapshot over its cap: oldest entries left out', trimmed);
    this.store.saveText(text);
    this.savedAt = at;
    this.savedSeq = this.seq;
    this.dirty = false;
    this.roomsDirty = false;
  }

  /** Erasure: the user leaves the recent lists, the per-user entries and the events not yet streamed; saved at once. Returns the rooms of the events removed. */
  eraseUser(userId: string): Set<string> {
    const rooms = this.state.eraseUser(userId);
    this.fanout.forgetUser(userId);
    this.dirty = true;
    this.saveIfDue(true);
    return rooms;
  }

  watchRoom(room: string): void {
    if (this.watchedRooms.has(room)) return;
    this.watchedRooms.add(room);
    if (this.watchedRooms.size > WATCHED_ROOMS_MAX) this.watchedRooms.delete(this.watchedRooms.values().next().value as string);
    this.dirty = true;
    this.roomsDirty = true;
    this.saveIfDue(true);
  }

  setTimezone(tz: string): void {
    this.state.setTimezone(tz);
  }

  /** Presence timeouts: the rooms whose viewers left are told, and subscribers get new stats. */
  expire(): void {
    const changed = this.presence.expire(this.now());
    if (!changed.size) return;
    this.dirty = true;
    this.fanout?.changed();
    this.onRoomsChanged([...changed].map((room) => this.presence.view(room)));
  }

  /** When (in real time) the next viewer times out, if any. */
  nextExpiryAt(): number | null {
    const at = this.presence.nextExpiry();
    return at === null ? null : Date.now() + Math.max(0, at - this.now());
  }

  stats(): Stats {
    const now = this.now();
    this.expire();
    const stats = this.state.snapshot(now, { connections: this.fanout?.connections() ?? 0, rooms: this.presence.summary(now) });
    const firing = this.firingAlerts();
    if (firing.length) stats.firingAlerts = firing;
    return stats;
  }

  /** The live numbers alert rules read now. */
  numbers(): LiveNumbers {
    const now = this.now();
    this.expire();
    let online: number | undefined; // a whole snapshot: taken once per evaluation, however many rules read it
    return {
      onlineUsers: () => (online ??= this.state.snapshot(now, { connections: 0, rooms: [] }).onlineUsers),
      participants: (room) => this.presence.view(room).current,
      fullestRoom: () => this.presence.summary(now)[0]?.current ?? 0,
    };
  }

  snapshot(): LiveSnapshot {
    const data = this.stats();
    return { data, meta: { workspace: this.workspace()?.slug ?? '', connections: data.connections, timestamp: data.timestamp } };
  }

  reset(): void {
    this.state = new LiveState(this.workspace()?.timezone ?? 'UTC');
    this.presence = new Presence();
    this.watchedRooms.clear();
    this.seq = 0;
    this.dirty = false;
  }
}
