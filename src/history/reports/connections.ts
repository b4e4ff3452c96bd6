import { CONNECTION_TYPES, type ConnectionFigures, type Connections } from '../../shared/connections';
import { LIMITS } from '../../shared/limits';
import type { RawSource } from '../raw/source';
import { load } from './load';
import type { ReportQuery } from './plan';

/** The type of a presence leave; one with an error is a connection that failed (LiveKit's participant_connection_aborted). */
const LEAVE = 'presence.leave';
/** The key of connections without a connection type or platform. */
export const UNKNOWN = 'unknown';

interface Tally {
  succeeded: number;
  aborted: number;
  ms: number;
  endedMs: number;
  ended: number;
}

const empty = (): Tally => ({ succeeded: 0, aborted: 0, ms: 0, endedMs: 0, ended: 0 });

function add(into: Tally, t: Partial<Tally>): void {
  into.succeeded += t.succeeded ?? 0;
  into.aborted += t.aborted ?? 0;
  into.ms += t.ms ?? 0;
  into.endedMs += t.endedMs ?? 0;
  into.ended += t.ended ?? 0;
}

function figures(t: Tally): ConnectionFigures {
  const attempts = t.succeeded + t.aborted;
  return {
    attempts,
    succeeded: t.succeeded,
    aborted: t.aborted,
    successRate: attempts ? Math.round((t.succeeded / attempts) * 1e6) / 1e6 : null,
    participantMinutes: Math.round(t.ms / 600) / 100,
    avgSessionSeconds: t.ended ? Math.round(t.endedMs / t.ended / 10) / 100 : null,
  };
}

interface SessionRow {
  ct: string;
  pf: string;
  succeeded: number;
  ms: number;
  endedMs: number;
  ended: number;
}

/**
 * Participant sessions overlapping [from, to), per connection type and platform: sessions begun in
 * the range, time inside it (an open session counts to now; an open browser viewer to its heartbeat
 * timeout), and the lengths of those begun in it that have ended.
 */
async function sessionRows(db: D1Database, q: ReportQuery): Promise<SessionRow[]> {
  const binds: unknown[] = [q.workspaceId, q.from, q.to, q.now, LIMITS.presenceTimeoutMs];
  let where = '';
  for (const [filter, column] of [['room', 'room'], ['userId', 'user_id'], ['platform', 'platform']] as const) {
    const v = q.filters[filter];
    if (v === undefined) continue;
    binds.push(v);
    where += ` AND ${column} = ?${binds.length}`;
  }
  const { results } = await db
    .prepare(`SELECT coalesce(connection_type, '') AS ct, coalesce(platform, '') AS pf,
        sum(joined_at >= ?2) AS succeeded,
        sum(max(0, min(coalesce(left_at, CASE WHEN last_heard_at IS NULL THEN ?4 ELSE min(?4, last_heard_at + ?5) END), ?3) - max(joined_at, ?2))) AS ms,
        sum(CASE WHEN joined_at >= ?2 AND left_at IS NOT NULL THEN left_at - joined_at ELSE 0 END) AS endedMs,
        sum(joined_at >= ?2 AND left_at IS NOT NULL) AS ended
      FROM participant_sessions
      WHERE workspace_id = ?1 AND joined_at < ?3 AND (left_at IS NULL OR left_at > ?2)${where}
      GROUP BY ct, pf`)
    .bind(...binds)
    .all<SessionRow>();
  return results;
}

/** Aborted connections in the range: in total, by connection type and by platform (rollups, raw events at the edges). */
async function abortedBy(db: D1Database, src: RawSource, q: ReportQuery): Promise<{ total: number; byType: Map<string, number>; byPlatform: Map<string, number> }> {
  const leaves: ReportQuery = { ...q, filters: { ...q.filters, type: LEAVE } };
  const errorsOf = (groups: Awaited<ReturnType<typeof load>>['groups']) => {
    const out = new Map<string, number>();
    for (const [key, points] of groups) {
      let n = 0;
      for (const a of points.values()) n += a.errors;
      if (n) out.set(key, n);
    }
    return out;
  };
  const [all, byType, byPlatform] = await Promise.all([
    load(db, src, leaves, { by: { kind: 'none' } }),
    load(db, src, leaves, { by: { kind: 'dim', dim: 'connectionType' } }),
    load(db, src, leaves, { by: { kind: 'dim', dim: 'platform' } }),
  ]);
  return { total: errorsOf(all.groups).get('') ?? 0, byType: errorsOf(byType.groups), byPlatform: errorsOf(byPlatform.groups) };
}

/** Aborted connections without a key: the total less those that had one. */
function withUnknown(keyed: Map<string, number>, total: number): Map<string, number> {
  let known = 0;
  for (const n of keyed.values()) known += n;
  const out = new Map(keyed);
  if (total > known) out.set(UNKNOWN, total - known);
  return out;
}

/** `GET …/stats/connections`: success rate, participant minutes and session length, by connection type and platform. */
export async function connections(db: D1Database, src: RawSource, q: ReportQuery): Promise<Connections> {
  const [rows, aborted] = await Promise.all([sessionRows(db, q), abortedBy(db, src, q)]);
  const total = empty();
  const byType = new Map<string, Tally>(CONNECTION_TYPES.map((t) => [t, empty()]));
  const byPlatform = new Map<string, Tally>();
  const tally = (map: Map<string, Tally>, key: string) => {
    let t = map.get(key);
    if (!t) map.set(key, (t = empty()));
    return t;
  };
  for (const r of rows) {
    add(total, r);
    add(tally(byType, r.ct || UNKNOWN), r);
    add(tally(byPlatform, r.pf || UNKNOWN), r);
  }
  total.aborted = aborted.total;
  for (const [key, n] of withUnknown(aborted.byType, aborted.total)) tally(byType, key).aborted += n;
  for (const [key, n] of withUnknown(aborted.byPlatform, aborted.total)) tally(byPlatform, key).aborted += n;
  const out = (map: Map<string, Tally>) => Object.fromEntries([...map].map(([k, t]) => [k, figures(t)]));
  return { ...figures(total), byConnectionType: out(byType), byPlatform: out(byPlatform) };
}
