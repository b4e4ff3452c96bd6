import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import type { LiveSnapshot, Stats } from '../shared/live';
import { Fanout } from './fanout';
import { LiveStore } from './live-store';
import { Presence, type PresenceJson, type RoomPresence } from './presence';
import { LiveState, type LiveStateJson } from './stats';

interface Saved {
  state: LiveStateJson;
  presence: PresenceJson;
  /** The last outbox seq the snapshot covers: later outbox batches are replayed on load. */
  seq: number;
  watchedRooms: string[];
}

const SAVE_EVERY_MS = 1_000;
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
  private dirty = false;
  /** Rooms whose RoomHub has had subscribers (DELETE …/live closes those too). */
  watchedRooms: Set<string>;

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
    this.watchedRooms = new Set(saved?.watchedRooms ?? []);
    // Acknowledged batches the snapshot has not seen yet are still in the outbox: replay them.
    for (const batch of replay(this.seq)) this.apply(batch.events, batch.seq, Math.max(...batch.events.map((e) => e.receivedAt)));
    this.fanout = new Fanout(ctx, () => this.stats(), now);
  }

  get rowsWritten(): number {
    return this.store.rowsWritten;
  }

  /** Applies an accepted batch (inside the outbox transaction); returns the rooms it touched. */
  apply(events: NormalizedEvent[], seq: number, now = this.now()): { rooms: Set<string>; live: ReturnType<LiveState['add']> } {
    const rooms = this.presence.apply(events);
    const live = this.state.add(events, now);
    this.seq = Math.max(this.seq, seq);
    this.dirty = true;
    return { rooms, live };
  }

  /** Saves the snapshot if it changed and the last save is older than a second (or when forced). */
  saveIfDue(force = false): void {
    if (!this.dirty) return;
    const at = Date.now();
    if (!force && at - this.savedAt < SAVE_EVERY_MS) return;
    this.store.save({ state: this.state.toJSON(), presence: this.presence.toJSON(), seq: this.seq, watchedRooms: [...this.watchedRooms] } satisfies Saved);
    this.savedAt = at;
    this.dirty = false;
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
    return this.state.snapshot(now, { connections: this.fanout?.connections() ?? 0, rooms: this.presence.summary(now) });
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
