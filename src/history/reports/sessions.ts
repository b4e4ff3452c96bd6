import type { z } from 'zod';
import type { ParticipantSession, RoomSession } from '../../shared/reports';
import type { ArchiveColumn } from '../../archive';
import { scanRaw, type RawSource } from '../raw/source';
import { DAY } from '../time';
import { FILTER_DIMS, type ReportFilters, type ReportQuery } from './plan';

type FilterName = keyof ReportFilters;

// Property filters too: a session matches them through its events, like type.
const ALL_FILTERS: FilterName[] = ['type', 'userId', ...FILTER_DIMS, 'properties'];

/**
 * How the report filters apply to sessions. A filter that the session row carries (`rowFilters`)
 * selects by that column; every other filter is met when the session holds, inside [from, to),
 * one event that matches all of them: for a participant session, its user's events naming its
 * room from its join to its leave; for a room session, the events naming its room from its start
 * to its end. `rowOnly`: row filters that must not be asked of the events (a participant
 * session's platform is that of its join, whatever later events say).
 */
const KINDS = {
  participant: {
    alias: 'p', table: 'participant_sessions', start: 'joined_at', end: 'left_at',
    rowFilters: { room: 'room', userId: 'user_id', platform: 'platform' } as Partial<Record<FilterName, string>>, rowOnly: ['platform'] as FilterName[],
  },
  room: {
    alias: 's', table: 'room_sessions', start: 'started_at', end: 'ended_at',
    rowFilters: { room: 'room' } as Partial<Record<FilterName, string>>, rowOnly: [] as FilterName[],
  },
};

export type SessionKind = keyof typeof KINDS;

/** The given filters that only raw events can answer for this kind of session. */
function eventFilterNames(kind: SessionKind, f: ReportFilters): FilterName[] {
  return ALL_FILTERS.filter((k) => f[k] !== undefined && KINDS[kind].rowFilters[k] === undefined);
}

/**
 * The filter that cannot be answered when it needs raw events from before the raw retention
 * (deleted, so the answer would be silently short), with why; null when the query can be answered.
 */
export function beyondRawRetention(kind: SessionKind, q: ReportQuery, retentionDays: number): { path: string; message: string } | null {
  const [needsRaw] = eventFilterNames(kind, q.filters);
  const kept = q.now - retentionDays * DAY;
  if (!needsRaw || q.from >= kept) return null;
  return {
    path: needsRaw,
    message: `matched against raw events, and this workspace keeps raw events ${retentionDays} day${retentionDays === 1 ? '' : 's'}; the range starts before that (give from ≥ ${new Date(kept).toISOString()})`,
  };
}

/** Which sessions count: those overlapping [from, to), or those that started in it and have ended. */
type SessionWindow = 'overlap' | 'startedAndEnded';

/** Whether a sorted list of times has one in [start, end] (end null: still open). */
function hasTimeIn(sorted: number[], start: number, end: number | null): boolean {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && (end === null || sorted[lo]! <= end);
}

/**
 * FROM … WHERE over one kind of session matching `q` (see KINDS). When a filter needs events, the
 * candidate sessions are read first, then the matching raw events (archive and outbox: room, user
 * and time only) of the keys those sessions have, and the sessions holding one are kept by id.
 */
async function sessionMatch(db: D1Database, src: RawSource, kind: SessionKind, q: ReportQuery, window: SessionWindow): Promise<{ from: string; binds: unknown[] }> {
  const { alias: a, table, start, end, rowFilters, rowOnly } = KINDS[kind];
  const binds: unknown[] = [q.workspaceId];
  const arg = (v: unknown) => `?${binds.push(v)}`;
  const where = [`${a}.workspace_id = ?1`];
  if (window === 'overlap') where.push(`${a}.${start} < ${arg(q.to)}`, `(${a}.${end} IS NULL OR ${a}.${end} >= ${arg(q.from)})`);
  else where.push(`${a}.${start} >= ${arg(q.from)}`, `${a}.${start} < ${arg(q.to)}`, `${a}.${end} IS NOT NULL`);
  for (const [name, column] of Object.entries(rowFilters)) {
    const v = q.filters[name as FilterName];
    if (v !== undefined) where.push(`${a}.${column} = ${arg(v)}`);
  }
  if (eventFilterNames(kind, q.filters).length) {
    const keyOf = (room: string, user: string | null | undefined) => (kind === 'participant' ? `${room}\u0000${user}` : room);
    const { results: candidates } = await db
      .prepare(`SELECT ${a}.id AS id, ${a}.room AS room, ${kind === 'participant' ? `${a}.user_id` : 'NULL'} AS user_id, ${a}.${start} AS s, ${a}.${end} AS e
        FROM ${table} ${a} WHERE ${where.join(' AND ')}`)
      .bind(...binds)
      .all<{ id: number; room: string; user_id: string | null; s: number; e: number | null }>();
    // The row filters narrow the events too (a session's events share its room and user), except rowOnly ones.
    const filters = Object.fromEntries(Object.entries(q.filters).filter(([name]) => !rowOnly.includes(name as FilterName)));
    const times = new Map(candidates.map((c) => [keyOf(c.room, c.user_id), [] as number[]]));
    const columns: ArchiveColumn[] = kind === 'participant' ? ['ts', 'room', 'user_id'] : ['ts', 'room'];
    if (times.size) {
      for await (const rows of scanRaw(src, { workspaceId: q.workspaceId, from: q.from, to: q.to, filters }, columns)) {
        for (const r of rows) if (r.room !== null && r.room !== undefined) times.get(keyOf(r.room, r.user_id))?.push(r.ts!);
      }
    }
    for (const list of times.values()) list.sort((x, y) => x - y);
    const hit = candidates.filter((c) => hasTimeIn(times.get(keyOf(c.room, c.user_id))!, c.s, c.e)).map((c) => c.id);
    where.push(`${a}.id IN (SELECT value FROM json_each(${arg(JSON.stringify(hit))}))`);
  }
  return { from: `FROM ${table} ${a} WHERE ${where.join(' AND ')}`, binds };
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** Participant sessions overlapping [from, to) that match the filters, newest first. */
export async function listSessions(db: D1Database, src: RawSource, q: ReportQuery, limit: number): Promise<Array<z.infer<typeof ParticipantSession>>> {
  const m = await sessionMatch(db, src, 'participant', q, 'overlap');
  const { results } = await db
    .prepare(`SELECT p.user_id, p.room, p.joined_at, p.left_at, p.platform, p.connection_type ${m.from}
      ORDER BY p.joined_at DESC, p.id DESC LIMIT ${Math.trunc(limit)}`)
    .bind(...m.binds)
    .all<{ user_id: string; room: string; joined_at: number; left_at: number | null; platform: string | null; connection_type: string | null }>();
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

/** Room sessions overlapping [from, to) that match the filters, newest first; their figures are the whole session's. */
export async function listRooms(db: D1Database, src: RawSource, q: ReportQuery, limit: number): Promise<Array<z.infer<typeof RoomSession>>> {
  const m = await sessionMatch(db, src, 'room', q, 'overlap');
  const { results } = await db
    .prepare(`SELECT s.room, s.started_at, s.ended_at, s.max_participants,
        (SELECT count(DISTINCT x.user_id) FROM participant_sessions x WHERE x.workspace_id = s.workspace_id AND x.room = s.room
          AND x.joined_at >= s.started_at AND (s.ended_at IS NULL OR x.joined_at <= s.ended_at)) AS participants
      ${m.from} ORDER BY s.started_at DESC, s.id DESC LIMIT ${Math.trunc(limit)}`)
    .bind(...m.binds)
    .all<{ room: string; started_at: number; ended_at: number | null; max_participants: number; participants: number }>();
  return results.map((r) => ({
    room: r.room,
    startedAt: iso(r.started_at)!,
    endedAt: iso(r.ended_at),
    maxParticipants: Math.max(r.max_participants, r.participants ? 1 : 0),
    participants: r.participants,
  }));
}

/** Mean length (s) of the participant sessions that started in [from, to), have ended, and match the filters. */
export async function avgSessionSeconds(db: D1Database, src: RawSource, q: ReportQuery): Promise<number | null> {
  const m = await sessionMatch(db, src, 'participant', q, 'startedAndEnded');
  const row = await db.prepare(`SELECT avg(p.left_at - p.joined_at) / 1000.0 AS s ${m.from}`).bind(...m.binds).first<{ s: number | null }>();
  return row?.s ?? null;
}
