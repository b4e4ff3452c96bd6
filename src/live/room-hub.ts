import { DurableObject } from 'cloudflare:workers';
import type { NormalizedEvent, WorkspaceRef } from '../ingest/types';
import type { LiveSnapshot, RoomStats } from '../shared/live';
import { answerSocket, closeSocket, Fanout } from './fanout';
import { workspaceHub } from './hubs';
import { LiveStore } from './live-store';
import type { RoomPresence } from './presence';
import { LiveState, type LiveStateJson } from './stats';
import { WORKSPACE_HEADER } from './workspace-hub';

interface Saved {
  workspace: WorkspaceRef;
  room: string;
  state: LiveStateJson;
  presence: RoomPresence;
}

/**
 * One per room of a workspace: the room's live view. The WorkspaceHub is the single writer of
 * presence and sends each batch of the room's events here once; this object keeps the room-scoped
 * counters and fans out to the room's subscribers.
 */
export class RoomHub extends DurableObject<Env> {
  private readonly store: LiveStore;
  private workspace: WorkspaceRef | undefined;
  private room = '';
  private state: LiveState;
  private presence: RoomPresence;
  private readonly fanout: Fanout;
  private fixedNow: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LiveStore(ctx.storage.sql);
    const saved = this.store.load<Saved>();
    this.workspace = saved?.workspace;
    this.room = saved?.room ?? '';
    this.state = LiveState.fromJSON(saved?.state, saved?.workspace.timezone ?? 'UTC');
    this.presence = saved?.presence ?? emptyPresence(this.room);
    this.fanout = new Fanout(ctx, () => this.stats(), () => this.now());
  }

  private now(): number {
    return this.fixedNow ?? Date.now();
  }

  private remember(workspace: WorkspaceRef, room: string): void {
    if (this.workspace?.timezone !== workspace.timezone) this.state.setTimezone(workspace.timezone);
    this.workspace = workspace;
    this.room = room;
    if (this.presence.room !== room) this.presence = emptyPresence(room);
  }

  private save(): void {
    if (!this.workspace) return;
    this.store.save({ workspace: this.workspace, room: this.room, state: this.state.toJSON(), presence: this.presence } satisfies Saved);
  }

  /** A batch of this room's events and the room's presence after it (one call per batch). */
  async push(workspace: WorkspaceRef, room: string, events: NormalizedEvent[], presence: RoomPresence, testNow: number | null = null): Promise<void> {
    if (testNow !== null) this.fixedNow = testNow;
    this.remember(workspace, room);
    const live = this.state.add(events, this.now());
    this.presence = presence;
    this.save();
    this.fanout.publish(live);
  }

  /** Presence changed without events (a viewer timed out). */
  async setPresence(workspace: WorkspaceRef, room: string, presence: RoomPresence, testNow: number | null = null): Promise<void> {
    if (testNow !== null) this.fixedNow = testNow;
    this.remember(workspace, room);
    this.presence = presence;
    this.save();
    this.fanout.changed();
  }

  stats(): RoomStats {
    const p = this.presence;
    const base = this.state.snapshot(this.now(), { connections: this.fanout?.connections() ?? 0, rooms: [{ room: this.room, current: p.current, peak: p.peak }] });
    return { ...base, room: this.room, current: p.current, peak: p.peak, totalJoins: p.totalJoins, avgSecondsInRoom: p.avgSecondsInRoom, participants: p.participants };
  }

  async liveSnapshot(workspace: WorkspaceRef, room: string): Promise<LiveSnapshot> {
    this.remember(workspace, room);
    const data = this.stats();
    return { data, meta: { workspace: workspace.slug, room, connections: data.connections, timestamp: data.timestamp } };
  }

  async fetch(request: Request): Promise<Response> {
    const ref = JSON.parse(request.headers.get(WORKSPACE_HEADER) ?? 'null') as WorkspaceRef | null;
    const room = request.headers.get('x-edgepulse-room') ?? this.room;
    if (ref) this.remember(ref, room);
    const first = this.fanout.connections() === 0;
    const response = this.fanout.connect(request, { workspace: this.workspace?.slug ?? '', room });
    if (first && ref) this.ctx.waitUntil(workspaceHub(this.env, ref.id).roomWatched(room));
    const next = this.fanout.nextDue();
    if (next !== null && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(next);
    return response;
  }

  async alarm(): Promise<void> {
    const next = this.fanout.periodic();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    answerSocket(ws, message);
  }

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeSocket(ws, code);
  }

  /** Erasure: the user's events leave this room's recent lists and the events not yet streamed. */
  async eraseUser(userId: string): Promise<void> {
    this.state.eraseUser(userId);
    this.fanout.forgetUser(userId);
    this.save();
  }

  async closeAll(): Promise<number> {
    return this.fanout.closeAll();
  }

  /** A key was revoked: closes the connections it opened here. */
  async closeKey(keyId: string): Promise<number> {
    return this.fanout.closeKey(keyId);
  }

  async setClockForTest(now: number | null): Promise<void> {
    this.fixedNow = now;
  }
}

function emptyPresence(room: string): RoomPresence {
  return { room, current: 0, peak: 0, totalJoins: 0, avgSecondsInRoom: null, participants: [] };
}
