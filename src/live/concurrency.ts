import { LIMITS } from '../shared/limits';

const MINUTE = 60_000;
/** The workspace's own row (`room = ''`): distinct users present in any room. */
export const WORKSPACE_ROOM = '';

/** One closed (or open) minute of one room, or of the workspace (`room = ''`). */
export interface ConcurrencyRow {
  /** Start of the UTC minute. */
  minute: number;
  room: string;
  /** The most users present at once inside the minute. */
  maxUsers: number;
  /** Participant time inside the minute (users × ms; for the workspace, summed over rooms). */
  participantMs: number;
}

export interface ConcurrencyJson {
  at: number;
  open: ConcurrencyRow[];
  pending: ConcurrencyRow[];
}

/**
 * Concurrency per UTC minute, from presence as the hub applies it: the most users present at once
 * and the participant time, per room and for the workspace. Time is accounted up to `at` and only
 * forward: a change stamped earlier (a late event) counts from `at`, as the live view showed it.
 * Closed minutes wait in `pending` (bounded) until the drain has written them to D1.
 */
export class ConcurrencyTracker {
  /** Users present per room, and rooms present in per user (the workspace counts distinct users). */
  private rooms = new Map<string, number>();
  private users = new Map<string, number>();
  /** Participant pairs (room, user) present now. */
  private pairs = 0;
  private at = 0;
  /** Minute → room → its row so far; only the minutes not yet closed. */
  private open = new Map<number, Map<string, ConcurrencyRow>>();
  private pending: ConcurrencyRow[] = [];
  /** Rows dropped because the drain could not keep up (logged, counted). */
  dropped = 0;

  get present(): number {
    return this.users.size;
  }

  join(room: string, userId: string, ts: number): void {
    this.advance(ts);
    const inRoom = (this.rooms.get(room) ?? 0) + 1;
    this.rooms.set(room, inRoom);
    this.users.set(userId, (this.users.get(userId) ?? 0) + 1);
    this.pairs++;
    const minute = floorMinute(this.at);
    this.row(minute, room).maxUsers = Math.max(this.row(minute, room).maxUsers, inRoom);
    const ws = this.row(minute, WORKSPACE_ROOM);
    ws.maxUsers = Math.max(ws.maxUsers, this.users.size);
  }

  leave(room: string, userId: string, ts: number): void {
    const inRoom = this.rooms.get(room);
    const rooms = this.users.get(userId);
    if (!inRoom || !rooms) return;
    this.advance(ts);
    if (inRoom > 1) this.rooms.set(room, inRoom - 1);
    else this.rooms.delete(room);
    if (rooms > 1) this.users.set(userId, rooms - 1);
    else this.users.delete(userId);
    this.pairs--;
  }

  /**
   * Accounts participant time up to `to` and closes every minute that ended by then. Minutes in
   * which nobody was present get no row; a minute begun with people present holds them in its maximum.
   */
  advance(to: number): void {
    if (to <= this.at) return;
    if (this.pairs === 0) {
      this.closeBefore(to);
      this.at = to;
      return;
    }
    // A gap longer than the alarm ever leaves (a first event stamped long ago, a hub stopped for hours): only its end is recorded.
    if (to - this.at > LIMITS.concurrencyGapMaxMs) {
      this.closeBefore(Infinity);
      this.at = floorMinute(to - LIMITS.concurrencyGapMaxMs);
    }
    while (this.at < to) {
      const minute = floorMinute(this.at);
      const end = Math.min(to, minute + MINUTE);
      const dt = end - this.at;
      for (const [room, n] of this.rooms) {
        const r = this.row(minute, room);
        r.maxUsers = Math.max(r.maxUsers, n);
        r.participantMs += n * dt;
      }
      const ws = this.row(minute, WORKSPACE_ROOM);
      ws.maxUsers = Math.max(ws.maxUsers, this.users.size);
      ws.participantMs += this.pairs * dt;
      this.at = end;
      if (end === minute + MINUTE) this.closeBefore(end);
    }
  }

  /** Closed minutes not yet written to history (oldest first). */
  pendingRows(): ConcurrencyRow[] {
    return this.pending.slice(0, LIMITS.concurrencyRowsPerDrain);
  }

  /** The drain committed these rows: they leave `pending` (compared by identity, so rows closed meanwhile stay). */
  written(rows: ConcurrencyRow[]): void {
    const done = new Set(rows);
    this.pending = this.pending.filter((r) => !done.has(r));
  }

  /** When the minute now open ends, while anything is open or anyone present (the hub's alarm closes it). */
  nextCloseAt(): number | null {
    if (this.pairs === 0 && this.open.size === 0) return null;
    return floorMinute(this.at) + MINUTE;
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Rebuilds who is present from the presence snapshot (the same membership the tracker was told). */
  restore(json: ConcurrencyJson | undefined, members: Iterable<{ room: string; userId: string }>): void {
    this.at = json?.at ?? 0;
    this.pending = json?.pending ?? [];
    this.open = new Map();
    for (const r of json?.open ?? []) this.rowMap(r.minute).set(r.room, { ...r });
    for (const { room, userId } of members) {
      this.rooms.set(room, (this.rooms.get(room) ?? 0) + 1);
      this.users.set(userId, (this.users.get(userId) ?? 0) + 1);
      this.pairs++;
    }
  }

  toJSON(): ConcurrencyJson {
    return { at: this.at, open: [...this.open.values()].flatMap((m) => [...m.values()]), pending: this.pending };
  }

  private closeBefore(t: number): void {
    for (const [minute, rows] of this.open) {
      if (minute + MINUTE > t) continue;
      this.open.delete(minute);
      this.pending.push(...rows.values());
    }
    const over = this.pending.length - LIMITS.concurrencyPendingRowsMax;
    if (over > 0) {
      // History cannot keep up (D1 down for hours): the oldest minutes go, live state stays bounded.
      this.pending.splice(0, over);
      this.dropped += over;
      console.warn(`concurrency: ${over} minute rows dropped (pending over ${LIMITS.concurrencyPendingRowsMax})`);
    }
  }

  private rowMap(minute: number): Map<string, ConcurrencyRow> {
    let rows = this.open.get(minute);
    if (!rows) this.open.set(minute, (rows = new Map()));
    return rows;
  }

  private row(minute: number, room: string): ConcurrencyRow {
    const rows = this.rowMap(minute);
    let r = rows.get(room);
    if (!r) rows.set(room, (r = { minute, room, maxUsers: 0, participantMs: 0 }));
    return r;
  }
}

const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;
