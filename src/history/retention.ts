import { LIMITS } from '../shared/limits';
import { pruneConcurrencySql } from './concurrency-rollups';
import { DAY, HOUR } from './time';

/** Rows deleted per statement: bounded, so no single write holds D1 long. */
export const RETENTION_CHUNK = 5000;
const DRAIN_LOG_DAYS = 8;

export interface RetentionResult {
  viewersTimedOut: number;
  minuteRollups: number;
  hourRollups: number;
  /** concurrency_rollups minute and hour rows (same ages as rollups'). */
  concurrencyRollups: number;
  userRollups: number;
  drainLog: number;
  endedSessions: number;
  complete: boolean;
}

/** Deletes in chunks until nothing is left or the time budget is spent; returns rows deleted. */
async function chunked(db: D1Database, sql: string, binds: unknown[], deadline: number): Promise<{ n: number; complete: boolean }> {
  let n = 0;
  for (;;) {
    if (Date.now() > deadline) return { n, complete: false };
    const res = await db.prepare(sql).bind(...binds).run();
    const changes = res.meta.changes ?? 0;
    n += changes;
    if (changes < RETENTION_CHUNK) return { n, complete: true };
  }
}

/** Tables with minute/hour/day grains: minute and hour rows are pruned alike (day rows stay). */
const GRAIN_TABLES = ['rollups', 'gauge_rollups'] as const;

async function pruneGrain(db: D1Database, grain: 'minute' | 'hour', workspaceId: string, before: number, deadline: number): Promise<{ n: number; complete: boolean }> {
  let n = 0;
  for (const table of GRAIN_TABLES) {
    const r = await chunked(
      db,
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE workspace_id = ?1 AND grain = ?2 AND bucket < ?3 LIMIT ${RETENTION_CHUNK})`,
      [workspaceId, grain, before],
      deadline,
    );
    n += r.n;
    if (!r.complete) return { n, complete: false };
  }
  return { n, complete: true };
}

/**
 * The cron: first browser viewers that went quiet leave (cheap, and a late backlog must not hold
 * them present), then pruning workspace by workspace: minute rollups (events and gauges) older than 48 hours, hour
 * rollups older than 35 days (day rollups answer those ranges; month-rollups.ts merges old days), per-user daily rollups of days wholly
 * past its retentionDays; then drain_log rows older than 8 days (longer than any outbox batch
 * waits), across workspaces; then signed-out sessions past their expiry. Raw events live in the
 * archive (its retention deletes whole partitions); the D1 table of older installations is the
 * archive migration's alone.
 */
export async function applyRetention(db: D1Database, now = Date.now(), budgetMs = 20_000): Promise<RetentionResult> {
  const deadline = Date.now() + budgetMs;
  const { results: workspaces } = await db.prepare(`SELECT id, retention_days FROM workspaces`).all<{ id: string; retention_days: number }>();
  const out: RetentionResult = { viewersTimedOut: 0, minuteRollups: 0, hourRollups: 0, concurrencyRollups: 0, userRollups: 0, drainLog: 0, endedSessions: 0, complete: true };
  out.viewersTimedOut = await endQuietViewers(db, now);
  for (const ws of workspaces) {
    const mr = await pruneGrain(db, 'minute', ws.id, now - LIMITS.minuteRollupHours * HOUR, deadline);
    // A user's day row goes once the whole day is past the retention (raw events go by the millisecond).
    const ur = await chunked(
      db,
      `DELETE FROM user_rollups WHERE rowid IN (SELECT rowid FROM user_rollups WHERE workspace_id = ?1 AND day <= ?2 LIMIT ${RETENTION_CHUNK})`,
      [ws.id, now - ws.retention_days * DAY - DAY],
      deadline,
    );
    out.minuteRollups += mr.n;
    out.userRollups += ur.n;
    if (!mr.complete || !ur.complete) return { ...out, complete: false };
    const hr = await pruneGrain(db, 'hour', ws.id, now - LIMITS.hourRollupDays * DAY, deadline);
    out.hourRollups += hr.n;
    if (!hr.complete) return { ...out, complete: false };
    for (const [grain, floor] of [['minute', now - LIMITS.minuteRollupHours * HOUR], ['hour', now - LIMITS.hourRollupDays * DAY]] as const) {
      const cr = await chunked(db, pruneConcurrencySql(RETENTION_CHUNK), [ws.id, grain, floor], deadline);
      out.concurrencyRollups += cr.n;
      if (!cr.complete) return { ...out, complete: false };
    }
  }
  const dl = await chunked(
    db,
    `DELETE FROM drain_log WHERE rowid IN (SELECT rowid FROM drain_log WHERE drained_at < ?1 LIMIT ${RETENTION_CHUNK})`,
    [now - DRAIN_LOG_DAYS * DAY],
    deadline,
  );
  out.drainLog = dl.n;
  if (!dl.complete) return { ...out, complete: false };
  // Signed-out sessions are remembered only until they would have expired anyway.
  const es = await chunked(
    db,
    `DELETE FROM ended_sessions WHERE rowid IN (SELECT rowid FROM ended_sessions WHERE expires_at <= ?1 LIMIT ${RETENTION_CHUNK})`,
    [now],
    deadline,
  );
  out.endedSessions = es.n;
  out.complete = es.complete;
  return out;
}

/**
 * Browser viewers (sessions kept by presence.heartbeat) unheard of for the presence timeout have
 * left at their last heartbeat; a room session without explicit room.started ends with its last one.
 */
export async function endQuietViewers(db: D1Database, now: number): Promise<number> {
  const res = await db
    .prepare(`UPDATE participant_sessions SET left_at = last_heard_at WHERE rowid IN (SELECT rowid FROM participant_sessions
      WHERE left_at IS NULL AND last_heard_at IS NOT NULL AND last_heard_at <= ?1 LIMIT ${RETENTION_CHUNK})`)
    .bind(now - LIMITS.presenceTimeoutMs)
    .run();
  const ended = res.meta.changes ?? 0;
  if (ended) {
    await db
      .prepare(`UPDATE room_sessions SET ended_at = (SELECT max(p.left_at) FROM participant_sessions p
          WHERE p.workspace_id = room_sessions.workspace_id AND p.room = room_sessions.room AND p.joined_at >= room_sessions.started_at)
        WHERE ended_at IS NULL AND explicit = 0
          AND NOT EXISTS (SELECT 1 FROM participant_sessions p WHERE p.workspace_id = room_sessions.workspace_id AND p.room = room_sessions.room AND p.left_at IS NULL)
          AND EXISTS (SELECT 1 FROM participant_sessions p WHERE p.workspace_id = room_sessions.workspace_id AND p.room = room_sessions.room
            AND p.joined_at >= room_sessions.started_at AND p.left_at IS NOT NULL)`)
      .run();
  }
  return ended;
}
