import type { NormalizedEvent } from '../ingest/types';

export const JOIN = 'presence.join';
export const LEAVE = 'presence.leave';
/** A browser viewer's keep-alive: opens a session like a join when none is open. */
export const HEARTBEAT = 'presence.heartbeat';
export const ROOM_STARTED = 'room.started';
export const ROOM_FINISHED = 'room.finished';

interface Segment { r: string; u: string; j: number; l: number | null; p: string | null; c: string | null }

interface PresencePlan {
  leading: Segment[];
  closeOpen: Array<{ r: string; u: string; t: number }>;
  later: Segment[];
  roomOpen: Map<string, number>;
  roomStarted: Set<string>;
  roomFinish: Map<string, number>;
  roomLastLeave: Map<string, number>;
  heard: Map<string, { r: string; u: string; t: number }>;
}

/** Groups a drain's presence events by room and by (room, user), in time order. */
function collect(events: NormalizedEvent[]): { plan: PresencePlan; byKey: Map<string, NormalizedEvent[]> } | null {
  const presence = events
    .filter((e) => e.room && ((e.userId && (e.type === JOIN || e.type === LEAVE || e.type === HEARTBEAT)) || e.type === ROOM_STARTED || e.type === ROOM_FINISHED))
    .sort((a, b) => a.ts - b.ts);
  if (!presence.length) return null;
  const plan: PresencePlan = {
    leading: [], closeOpen: [], later: [], roomOpen: new Map(), roomStarted: new Set(), roomFinish: new Map(), roomLastLeave: new Map(), heard: new Map(),
  };
  const byKey = new Map<string, NormalizedEvent[]>();
  for (const e of presence) {
    const room = e.room!;
    if (e.type === ROOM_STARTED || e.type === JOIN || e.type === HEARTBEAT) if (!plan.roomOpen.has(room)) plan.roomOpen.set(room, e.ts);
    if (e.type === ROOM_STARTED) plan.roomStarted.add(room);
    if (e.type === ROOM_FINISHED) plan.roomFinish.set(room, e.ts);
    if (e.type === LEAVE) plan.roomLastLeave.set(room, e.ts);
    if (e.type !== JOIN && e.type !== LEAVE && e.type !== HEARTBEAT) continue;
    const k = `${room}\u0000${e.userId}`;
    if (e.type === HEARTBEAT) plan.heard.set(k, { r: room, u: e.userId!, t: e.ts });
    const list = byKey.get(k) ?? [];
    list.push(e);
    byKey.set(k, list);
  }
  return { plan, byKey };
}

/** One (room, user)'s events → its leading session, the close of a session D1 holds open, later sessions. */
function segmentKey(list: NormalizedEvent[], plan: PresencePlan): void {
  const r = list[0].room!;
  const u = list[0].userId!;
  // 'unknown' until the first leave: D1 may hold an open session for this key.
  let state: 'unknown' | 'open' | 'closed' = 'unknown';
  let current: Segment | null = null;
  for (const e of list) {
    if (e.type === JOIN || e.type === HEARTBEAT) {
      if (state === 'unknown' && !current) {
        current = { r, u, j: e.ts, l: null, p: e.context.platform ?? null, c: e.context.connectionType ?? null };
        plan.leading.push(current);
      } else if (state === 'closed') {
        current = { r, u, j: e.ts, l: null, p: e.context.platform ?? null, c: e.context.connectionType ?? null };
        plan.later.push(current);
        state = 'open';
      }
    } else if (state === 'unknown') {
      plan.closeOpen.push({ r, u, t: e.ts });
      state = 'closed';
      current = null;
    } else if (state === 'open' && current) {
      current.l = e.ts;
      state = 'closed';
      current = null;
    }
  }
}

/**
 * Turns a drain's presence events into participant and room session writes (a few bulk
 * statements whatever the count). Per (room, user), in time order: a join opens a session unless
 * one is open, a leave closes the open one. Only the first join/leave of a drain depends on what
 * D1 already holds, and SQL resolves that (insert-if-none-open, close-the-open-one).
 */
export function sessionStatements(db: D1Database, workspaceId: string, events: NormalizedEvent[]): D1PreparedStatement[] {
  const collected = collect(events);
  if (!collected) return [];
  const { plan, byKey } = collected;
  for (const list of byKey.values()) segmentKey(list, plan);
  const { leading, closeOpen, later, roomOpen, roomStarted, roomFinish, roomLastLeave, heard } = plan;
  const ws = workspaceId;
  const out: D1PreparedStatement[] = [];
  const rooms = (m: Map<string, number>) => JSON.stringify([...m].map(([r, t]) => ({ r, t })));
  if (roomOpen.size) {
    out.push(db.prepare(`INSERT INTO room_sessions (workspace_id, room, started_at, ended_at, max_participants, explicit)
      SELECT ?1, j.value ->> '$.r', j.value ->> '$.t', NULL, 0, 0 FROM json_each(?2) j
      WHERE NOT EXISTS (SELECT 1 FROM room_sessions s WHERE s.workspace_id = ?1 AND s.room = j.value ->> '$.r' AND s.ended_at IS NULL)`).bind(ws, rooms(roomOpen)));
  }
  if (roomStarted.size) {
    out.push(db.prepare(`UPDATE room_sessions SET explicit = 1 WHERE workspace_id = ?1 AND ended_at IS NULL
      AND room IN (SELECT value FROM json_each(?2))`).bind(ws, JSON.stringify([...roomStarted])));
  }
  if (leading.length) {
    out.push(db.prepare(`INSERT INTO participant_sessions (workspace_id, room, user_id, joined_at, left_at, platform, connection_type)
      SELECT ?1, j.value ->> '$.r', j.value ->> '$.u', j.value ->> '$.j', NULL, j.value ->> '$.p', j.value ->> '$.c' FROM json_each(?2) j
      WHERE NOT EXISTS (SELECT 1 FROM participant_sessions s WHERE s.workspace_id = ?1 AND s.room = j.value ->> '$.r'
        AND s.user_id = j.value ->> '$.u' AND s.left_at IS NULL)`).bind(ws, JSON.stringify(leading)));
    out.push(peakStatement(db, ws, [...new Set(leading.map((s) => s.r))]));
  }
  // First leaves close the session open at the start of this drain, or the one its leading join opened.
  const closes = closeOpen;
  if (closes.length) {
    out.push(db.prepare(`UPDATE participant_sessions SET left_at = (SELECT j.value ->> '$.t' FROM json_each(?2) j
        WHERE j.value ->> '$.r' = participant_sessions.room AND j.value ->> '$.u' = participant_sessions.user_id)
      WHERE workspace_id = ?1 AND left_at IS NULL AND EXISTS (SELECT 1 FROM json_each(?2) j
        WHERE j.value ->> '$.r' = participant_sessions.room AND j.value ->> '$.u' = participant_sessions.user_id)`).bind(ws, JSON.stringify(closes)));
  }
  if (later.length) {
    out.push(db.prepare(`INSERT INTO participant_sessions (workspace_id, room, user_id, joined_at, left_at, platform, connection_type)
      SELECT ?1, j.value ->> '$.r', j.value ->> '$.u', j.value ->> '$.j', j.value ->> '$.l', j.value ->> '$.p', j.value ->> '$.c'
      FROM json_each(?2) j`).bind(ws, JSON.stringify(later)));
    out.push(peakStatement(db, ws, [...new Set(later.map((s) => s.r))]));
  }
  if (heard.size) {
    out.push(db.prepare(`UPDATE participant_sessions SET last_heard_at = max(coalesce(last_heard_at, 0), (SELECT j.value ->> '$.t' FROM json_each(?2) j
        WHERE j.value ->> '$.r' = participant_sessions.room AND j.value ->> '$.u' = participant_sessions.user_id))
      WHERE workspace_id = ?1 AND left_at IS NULL AND EXISTS (SELECT 1 FROM json_each(?2) j
        WHERE j.value ->> '$.r' = participant_sessions.room AND j.value ->> '$.u' = participant_sessions.user_id)`).bind(ws, JSON.stringify([...heard.values()])));
  }
  if (roomFinish.size) {
    // Whoever is still present when the room finishes leaves with it.
    out.push(db.prepare(`UPDATE participant_sessions SET left_at = (SELECT j.value ->> '$.t' FROM json_each(?2) j WHERE j.value ->> '$.r' = participant_sessions.room)
      WHERE workspace_id = ?1 AND left_at IS NULL AND room IN (SELECT j.value ->> '$.r' FROM json_each(?2) j)
        AND joined_at <= (SELECT j.value ->> '$.t' FROM json_each(?2) j WHERE j.value ->> '$.r' = participant_sessions.room)`).bind(ws, rooms(roomFinish)));
    out.push(db.prepare(`UPDATE room_sessions SET ended_at = (SELECT j.value ->> '$.t' FROM json_each(?2) j WHERE j.value ->> '$.r' = room_sessions.room)
      WHERE workspace_id = ?1 AND ended_at IS NULL AND room IN (SELECT j.value ->> '$.r' FROM json_each(?2) j)`).bind(ws, rooms(roomFinish)));
  }
  if (roomLastLeave.size) {
    // The last participant left: the room session ends with that leave.
    out.push(db.prepare(`UPDATE room_sessions SET ended_at = (SELECT j.value ->> '$.t' FROM json_each(?2) j WHERE j.value ->> '$.r' = room_sessions.room)
      WHERE workspace_id = ?1 AND ended_at IS NULL AND explicit = 0 AND room IN (SELECT j.value ->> '$.r' FROM json_each(?2) j)
        AND NOT EXISTS (SELECT 1 FROM participant_sessions p WHERE p.workspace_id = ?1 AND p.room = room_sessions.room AND p.left_at IS NULL)`).bind(ws, rooms(roomLastLeave)));
  }
  return out;
}

/** Raises the open room session's peak to the number of participants present now. */
function peakStatement(db: D1Database, ws: string, rooms: string[]): D1PreparedStatement {
  return db.prepare(`UPDATE room_sessions SET max_participants = max(max_participants,
      (SELECT count(*) FROM participant_sessions p WHERE p.workspace_id = ?1 AND p.room = room_sessions.room AND p.left_at IS NULL))
    WHERE workspace_id = ?1 AND ended_at IS NULL AND room IN (SELECT value FROM json_each(?2))`).bind(ws, JSON.stringify(rooms));
}
