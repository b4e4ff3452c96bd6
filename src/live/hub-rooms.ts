import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import { roomHub } from './hubs';
import type { RoomPresence } from './presence';

/**
 * A WorkspaceHub's calls to its rooms' RoomHubs: one call per room per batch (never per event),
 * presence changes, erasure and closing connections. Pushes run in the background: a room that
 * fails to take them never fails the batch, which is durable already.
 */
export class HubRooms {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    /** Test-only fixed clock, passed on to the rooms. */
    private readonly fixedNow: () => number | null,
  ) {}

  /** After the batch is durable: each room gets its events and its presence. */
  push(workspace: WorkspaceRef, accepted: NormalizedEvent[], rooms: Set<string>, presence: (room: string) => RoomPresence): void {
    for (const room of rooms) {
      const events = accepted.filter((e) => e.room === room);
      const push = roomHub(this.env, workspace.id, room).push(workspace, room, events, presence(room), this.fixedNow());
      this.ctx.waitUntil(push.catch((err) => console.warn(`room ${room}: push failed`, String(err))));
    }
  }

  /** Presence changed without events (timeouts): the rooms are told. */
  tell(workspace: WorkspaceRef, rooms: RoomPresence[]): void {
    for (const p of rooms) {
      const told = roomHub(this.env, workspace.id, p.room).setPresence(workspace, p.room, p, this.fixedNow());
      this.ctx.waitUntil(told.catch((err) => console.warn(`room ${p.room}: presence failed`, String(err))));
    }
  }

  async eraseUser(workspaceId: string, rooms: Iterable<string>, userId: string): Promise<void> {
    await Promise.all([...rooms].map((room) => roomHub(this.env, workspaceId, room).eraseUser(userId)));
  }

  /** Closes the rooms' live connections (all, or those a key opened); returns how many. */
  async close(workspaceId: string, rooms: Iterable<string>, keyId?: string): Promise<number> {
    const counts = await Promise.all([...rooms].map((room) => {
      const hub = roomHub(this.env, workspaceId, room);
      return (keyId === undefined ? hub.closeAll() : hub.closeKey(keyId)).catch(() => 0);
    }));
    return counts.reduce((a, b) => a + b, 0);
  }
}
