import type { z } from 'zod';
import type { ParticipantSession, RoomSession } from '../shared/reports';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export interface SessionQuery {
  workspaceId: string;
  from: number;
  to: number;
  room?: string;
  userId?: string;
  limit: number;
  now: number;
}

/** Participant sessions overlapping [from, to), newest first. */
export async function listSessions(db: D1Database, q: SessionQuery): Promise<Array<z.infer<typeof ParticipantSession>>> {
  const binds: unknown[] = [q.workspaceId, q.to, q.from];
  let sql = `SELECT user_id, room, joined_at, left_at, platform, connection_type FROM participant_sessions
    WHERE workspace_id = ?1 AND joined_at < ?2 AND (left_at IS NULL OR left_at >= ?3)`;
  if (q.room !== undefined) sql += ` AND room = ?${binds.push(q.room)}`;
  if (q.userId !== undefined) sql += ` AND user_id = ?${binds.push(q.userId)}`;
  sql += ` ORDER BY joined_at DESC, id DESC LIMIT ${Math.trunc(q.limit)}`;
  const { results } = await db.prepare(sql).bind(...binds).all<{
    user_id: string; room: string; joined_at: number; left_at: number | null; platform: string | null; connection_type: string | null;
  }>();
  return results.map((r) => ({
    userId: r.user_id,
    room: r.room,
    joinedAt: iso(r.joined_at)!,
    leftAt: iso(r.left_at),
    durationSeconds: Math.max(0, ((r.left_at ?? q.now) - r.joined_at) / 1000),
    platform: r.platform,
    connectionType: r.connection_type,
  }));
}

/** Room sessions overlapping [from, to), newest first, with their distinct participants. */
export async function listRooms(db: D1Database, q: SessionQuery): Promise<Array<z.infer<typeof RoomSession>>> {
  const binds: unknown[] = [q.workspaceId, q.to, q.from];
  let sql = `SELECT s.room, s.started_at, s.ended_at, s.max_participants,
      (SELECT count(DISTINCT p.user_id) FROM participant_sessions p WHERE p.workspace_id = s.workspace_id AND p.room = s.room
        AND p.joined_at >= s.started_at AND (s.ended_at IS NULL OR p.joined_at <= s.ended_at)) AS participants
    FROM room_sessions s WHERE s.workspace_id = ?1 AND s.started_at < ?2 AND (s.ended_at IS NULL OR s.ended_at >= ?3)`;
  if (q.room !== undefined) sql += ` AND s.room = ?${binds.push(q.room)}`;
  sql += ` ORDER BY s.started_at DESC, s.id DESC LIMIT ${Math.trunc(q.limit)}`;
  const { results } = await db.prepare(sql).bind(...binds).all<{
    room: string; started_at: number; ended_at: number | null; max_participants: number; participants: number;
  }>();
  return results.map((r) => ({
    room: r.room,
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at),
    maxParticipants: Math.max(r.max_participants, r.participants ? 1 : 0),
    participants: r.participants,
  }));
}
