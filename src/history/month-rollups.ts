import type { WorkspaceRef } from '../ingest/types';
import { LIMITS } from '../shared/limits';
import { Agg } from './agg';
import { monthFloor } from './reports/plan';
import { mergeStoredSketches, rollupStatements, type RollupRow } from './rollups';
import { bucketStart, nextBucket } from './time';

/**
 * Day rollups older than about 13 months become month rows (the cron), so the one table that
 * would grow forever grows by a month's rows a month instead of a day's rows a day. Reports read
 * a month's month row and its not-yet-merged day rows together (plan.ts), so every step of the
 * merge answers the same totals.
 */

/** Day rows merged per step: one D1 batch moves them into month rows and deletes them. */
export const MONTH_MERGE_CHUNK = 500;
/** A run holds this lease (job_state) so that two overlapping crons never merge the same rows twice. */
const LEASE_MS = 60_000;
const LEASE = 'month-rollups:lease';

export interface MonthMergeResult {
  dayRows: number;
  monthRows: number;
  complete: boolean;
}

type DayRow = Parameters<typeof Agg.fromRow>[0] & { bucket: number; type: string; dim: string; key: string };

const SELECT_DAYS = `SELECT bucket, type, dim, key, events, errors, bytes_in AS bytesIn, bytes_out AS bytesOut, value,
  duration_count AS durationCount, duration_sum AS durationSum, users, sessions, durations
  FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND bucket >= ?2 AND bucket < ?3
  ORDER BY bucket, type, dim, key LIMIT ?4`;

const DELETE_DAYS = `DELETE FROM rollups WHERE rowid IN (SELECT r.rowid FROM json_each(?2) j CROSS JOIN rollups r
  ON r.workspace_id = ?1 AND r.grain = 'day' AND r.bucket = j.value ->> 0 AND r.type = j.value ->> 1 AND r.dim = j.value ->> 2 AND r.key = j.value ->> 3)`;

/** Claims the lease for this run; false while another run holds it. */
async function claimLease(db: D1Database, now: number): Promise<boolean> {
  const res = await db
    .prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, '{}', ?2)
      ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at WHERE job_state.updated_at <= ?3`)
    .bind(LEASE, now, now - LEASE_MS)
    .run();
  return (res.meta.changes ?? 0) > 0;
}

async function releaseLease(db: D1Database): Promise<void> {
  await db.prepare(`DELETE FROM job_state WHERE name = ?1`).bind(LEASE).run();
}

/** One step: the oldest `limit` day rows of one month into its month rows, in one transaction. */
async function mergeStep(db: D1Database, ws: WorkspaceRef, month: number, monthEnd: number, limit: number): Promise<{ dayRows: number; monthRows: number }> {
  const { results } = await db.prepare(SELECT_DAYS).bind(ws.id, month, monthEnd, limit).all<DayRow>();
  if (!results.length) return { dayRows: 0, monthRows: 0 };
  const merged = new Map<string, RollupRow>();
  for (const r of results) {
    const k = `${r.type}\u0000${r.dim}\u0000${r.key}`;
    const cur = merged.get(k);
    if (cur) cur.agg.mergeRow(r);
    else merged.set(k, { grain: 'month', bucket: month, type: r.type, dim: r.dim, key: r.key, agg: Agg.fromRow(r) });
  }
  const rows = [...merged.values()];
  // Earlier steps of this month may have written these month rows: their sketches merge in.
  await mergeStoredSketches(db, ws.id, rows);
  const keys = JSON.stringify(results.map((r) => [r.bucket, r.type, r.dim, r.key]));
  await db.batch([...rollupStatements(db, ws, rows), db.prepare(DELETE_DAYS).bind(ws.id, keys)]);
  return { dayRows: results.length, monthRows: rows.length };
}

/**
 * Merges every workspace's day rows older than its month floor (LIMITS.dayRollupDays, to the start
 * of that local month) into month rows, oldest month first, until done or the budget is spent.
 */
export async function mergeOldDayRollups(
  db: D1Database,
  now = Date.now(),
  { budgetMs = LIMITS.monthRollupBudgetMs, chunk = MONTH_MERGE_CHUNK, steps = Infinity }: { budgetMs?: number; chunk?: number; steps?: number } = {},
): Promise<MonthMergeResult> {
  const deadline = Date.now() + budgetMs;
  let left = steps;
  const out: MonthMergeResult = { dayRows: 0, monthRows: 0, complete: true };
  if (!(await claimLease(db, now))) return { ...out, complete: false };
  try {
    const { results: workspaces } = await db.prepare(`SELECT id, slug, timezone FROM workspaces`).all<WorkspaceRef>();
    for (const ws of workspaces) {
      const floor = monthFloor(now, ws.timezone);
      for (;;) {
        if (Date.now() > deadline || left-- <= 0) return { ...out, complete: false };
        const oldest = await db
          .prepare(`SELECT min(bucket) AS bucket FROM rollups WHERE workspace_id = ?1 AND grain = 'day' AND bucket < ?2`)
          .bind(ws.id, floor)
          .first<{ bucket: number | null }>();
        if (oldest?.bucket == null) break;
        const month = bucketStart(oldest.bucket, 'month', ws.timezone);
        const step = await mergeStep(db, ws, month, nextBucket(month, 'month', ws.timezone), chunk);
        out.dayRows += step.dayRows;
        out.monthRows += step.monthRows;
      }
    }
    return out;
  } finally {
    await releaseLease(db);
  }
}
