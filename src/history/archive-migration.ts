import { writeArchiveBatch, type ArchiveBucket } from '../archive';
import type { NormalizedEvent } from '../ingest/types';
import { LIMITS } from '../shared/limits';

/**
 * The one-time move of an installation's raw events from the D1 `events` table (written by drains
 * from before the archive) to the R2 archive, continued by the cron until done, then the table is
 * dropped. This is the only code that reads `events`.
 *
 * Exactly once: rows go in rowid order, in chunks whose bounds depend only on the job's cursor and
 * on rows that never change (nothing deletes from the table any more, and SQLite gives a new row a
 * rowid above the highest), so a chunk re-run after a crash reads the same rows and writes them
 * under the same part names, `migrated-<first rowid>-<last rowid>`, overwriting its earlier puts.
 * The cursor moves in `job_state` only after every put of the chunk succeeded.
 */
export const MIGRATION_JOB = 'archive-migration';

/** What the job keeps in job_state. */
interface MigrationState {
  /** Every row with rowid ≤ cursor is in the archive. */
  cursor: number;
  /** The highest rowid the job knows of: rows up to it form a fixed set (grown when rows arrive later). */
  end: number;
  /** Rows done (archived, or skipped: their workspace deleted or their user erased). */
  migrated: number;
  /** Rows not archived: of a workspace deleted, or of a user erased, before they were moved. */
  skipped: number;
  /** Rows the job has to move: counted when it began, grown when rows arrive after. */
  total: number;
  done: boolean;
}

export interface MigrationProgress {
  migrated: number;
  remaining: number;
  done: boolean;
}

export interface MigrationRun extends MigrationProgress {
  /** Rows moved by this run. */
  rows: number;
  /** Archive objects put by this run. */
  objects: number;
  /** True when this run dropped the table. */
  dropped: boolean;
}

export interface MigrationOptions {
  /** Wall time after which no new chunk starts (at least one chunk runs, so every run progresses). */
  budgetMs?: number;
  chunkRows?: number;
  chunkBytes?: number;
  now?: number;
}

interface RawRow {
  rid: number;
  workspace_id: string;
  ts: number;
  id: string;
  type: string;
  received_at: number;
  user_id: string | null;
  session_id: string | null;
  room: string | null;
  duration_ms: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
  error: string | null;
  value: number | null;
  properties: string | null;
  context: string | null;
}

const RAW_COLUMNS = `rowid AS rid, workspace_id, ts, id, type, received_at, user_id, session_id, room,
  duration_ms, bytes_in, bytes_out, error, value, properties, context`;

/** The drain wrote these columns with json(): they parse; anything else (never seen) becomes empty rather than stalling the job. */
function jsonObject<T>(text: string | null): T {
  if (text === null) return {} as T;
  try {
    const v = JSON.parse(text) as unknown;
    return (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {}) as T;
  } catch {
    return {} as T;
  }
}

/**
 * A D1 row as the event the drain archives: country, platform, os, browser, device and
 * connectionType live in `context` and become their own columns in encodeArchiveFile; the table
 * never had gauges, so the archive's `gauges` is null.
 */
export function rawRowToEvent(row: Omit<RawRow, 'rid' | 'workspace_id'>): NormalizedEvent {
  return {
    id: row.id,
    type: row.type,
    ts: row.ts,
    receivedAt: row.received_at,
    userId: row.user_id,
    sessionId: row.session_id,
    room: row.room,
    durationMs: row.duration_ms,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
    error: row.error,
    value: row.value,
    properties: jsonObject(row.properties),
    context: jsonObject(row.context),
  };
}

/**
 * The last rowid of the next chunk: at most `rows` rows and `bytes` bytes of row text (at least one
 * row), or null when no row is left up to `end`. Depends on the fixed rows only, so a re-run cuts the same chunk.
 */
async function chunkEnd(db: D1Database, state: MigrationState, rows: number, bytes: number): Promise<number | null> {
  const { results } = await db
    .prepare(`SELECT rowid AS rid, coalesce(length(properties), 0) + coalesce(length(context), 0) + length(id) + length(type)
        + coalesce(length(user_id), 0) + coalesce(length(session_id), 0) + coalesce(length(room), 0) + coalesce(length(error), 0) + 100 AS size
      FROM events WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid LIMIT ?3`)
    .bind(state.cursor, state.end, rows)
    .all<{ rid: number; size: number }>();
  if (results.length === 0) return null;
  let total = 0;
  for (let i = 0; i < results.length; i++) {
    total += results[i]!.size;
    if (total > bytes && i > 0) return results[i - 1]!.rid;
  }
  return results[results.length - 1]!.rid;
}

const userKey = (workspaceId: string, userId: string) => `${workspaceId}\u0000${userId}`;

/** Users with an erasure request (DELETE …/users/{id}), and when the last was made: every event received before it is erased. */
async function erasedUsers(db: D1Database): Promise<Map<string, number>> {
  const { results } = await db
    .prepare(`SELECT workspace_id, user_id, max(requested_at) AS at FROM erasures GROUP BY workspace_id, user_id`)
    .all<{ workspace_id: string; user_id: string; at: number }>();
  return new Map(results.map((r) => [userKey(r.workspace_id, r.user_id), r.at]));
}

function isErased(erased: Map<string, number>, row: RawRow): boolean {
  if (row.user_id === null || erased.size === 0) return false;
  const at = erased.get(userKey(row.workspace_id, row.user_id));
  return at !== undefined && row.received_at <= at;
}

/** The part name of a chunk: the same rows always get the same name (a re-put overwrites; compaction's covers list keeps it out). */
export const migratedPartName = (firstRowid: number, lastRowid: number) => `migrated-${firstRowid}-${lastRowid}`;

async function readState(db: D1Database): Promise<MigrationState | null> {
  const row = await db.prepare(`SELECT state FROM job_state WHERE name = ?1`).bind(MIGRATION_JOB).first<{ state: string }>();
  return row ? (JSON.parse(row.state) as MigrationState) : null;
}

const insertState = (db: D1Database, state: MigrationState, now: number) =>
  db.prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, ?2, ?3)
      ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
    .bind(MIGRATION_JOB, JSON.stringify(state), now);

/** Moves the state on only from where this run found it: a second run at the same time loses, and stops. */
async function advanceState(db: D1Database, from: MigrationState, to: MigrationState, now: number): Promise<boolean> {
  const res = await db
    .prepare(`UPDATE job_state SET state = ?2, updated_at = ?3 WHERE name = ?1 AND state = ?4`)
    .bind(MIGRATION_JOB, JSON.stringify(to), now, JSON.stringify(from))
    .run();
  return (res.meta.changes ?? 0) === 1;
}

async function tableExists(db: D1Database): Promise<boolean> {
  return (await db.prepare(`SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'events'`).first()) !== null;
}

const progressOf = (s: MigrationState): MigrationProgress => ({ migrated: s.migrated, remaining: Math.max(0, s.total - s.migrated), done: s.done });

const DONE_EMPTY: MigrationState = { cursor: 0, end: 0, migrated: 0, skipped: 0, total: 0, done: true };

/** True once the job dropped the raw table. */
export async function isArchiveMigrationDone(db: D1Database): Promise<boolean> {
  return (await readState(db))?.done === true;
}

/** Where the migration stands, for the progress route: from job_state, or the table itself before the first run. */
export async function migrationProgress(db: D1Database): Promise<MigrationProgress> {
  const state = await readState(db);
  if (state) return progressOf(state);
  if (!(await tableExists(db))) return progressOf(DONE_EMPTY);
  const row = await db.prepare(`SELECT count(*) AS n FROM events`).first<{ n: number }>();
  return { migrated: 0, remaining: row?.n ?? 0, done: false };
}

/** The error the drop's guard raises when rows arrived after the last chunk (json() of text that is not JSON). */
const isRowsArrived = (err: unknown) => /malformed JSON/i.test(String((err as Error)?.message ?? err));

/**
 * Drops the table and marks the job done in one transaction, unless a row past `end` exists: then
 * nothing happens (false) and the next chunk picks the row up. No row can slip in between the check and the drop.
 */
export async function dropIfMigrated(db: D1Database, state: MigrationState, now: number): Promise<boolean> {
  try {
    await db.batch([
      db.prepare(`SELECT CASE WHEN EXISTS (SELECT 1 FROM events WHERE rowid > ?1) THEN json('rows arrived') END AS guard`).bind(state.end),
      db.prepare(`DROP INDEX IF EXISTS events_workspace_ts`),
      db.prepare(`DROP TABLE IF EXISTS events`),
      insertState(db, { ...state, done: true }, now),
    ]);
    return true;
  } catch (err) {
    if (isRowsArrived(err)) return false;
    throw err;
  }
}

/**
 * One cron run of the migration: chunks of `chunkRows` rows, each written to the archive (one
 * object per workspace and UTC hour it touches) and then recorded, until the budget is spent or the
 * table is migrated and dropped. Afterwards a no-op (one job_state read). Throws when D1 or R2
 * fails; the next run redoes the chunk that was under way.
 */
export async function runArchiveMigration(db: D1Database, bucket: Pick<ArchiveBucket, 'put'>, options: MigrationOptions = {}): Promise<MigrationRun> {
  const started = Date.now();
  const deadline = started + (options.budgetMs ?? 20_000);
  const chunkRows = options.chunkRows ?? LIMITS.migrationChunkRows;
  const chunkBytes = options.chunkBytes ?? LIMITS.migrationChunkBytes;
  const now = () => options.now ?? Date.now();
  const run = { rows: 0, objects: 0, dropped: false };

  const stored = await readState(db);
  if (stored?.done) return { ...progressOf(stored), ...run };
  if (!(await tableExists(db))) {
    // Dropped by hand, or an installation that never had the table: nothing to move.
    const done = { ...(stored ?? DONE_EMPTY), done: true };
    await insertState(db, done, now()).run();
    return { ...progressOf(done), ...run };
  }
  let state: MigrationState;
  if (stored) state = stored;
  else {
    // Counted once (a scan, on the first run only); rows arriving later are counted as the job meets them.
    const row = await db.prepare(`SELECT count(*) AS n, coalesce(max(rowid), 0) AS last FROM events`).first<{ n: number; last: number }>();
    state = { cursor: 0, end: row!.last, migrated: 0, skipped: 0, total: row!.n, done: false };
    await insertState(db, state, now()).run();
  }
  const live = new Set((await db.prepare(`SELECT id FROM workspaces`).all<{ id: string }>()).results.map((w) => w.id));
  const erased = await erasedUsers(db);

  for (let first = true; first || Date.now() < deadline; first = false) {
    const last = await chunkEnd(db, state, chunkRows, chunkBytes);
    const { results: rows } = last === null ? { results: [] as RawRow[] } : await db
      .prepare(`SELECT ${RAW_COLUMNS} FROM events WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid`)
      .bind(state.cursor, last)
      .all<RawRow>();
    if (rows.length === 0) {
      const later = await db.prepare(`SELECT count(*) AS n, coalesce(max(rowid), 0) AS last FROM events WHERE rowid > ?1`).bind(state.end).first<{ n: number; last: number }>();
      if (later && later.n > 0) {
        // Rows drained into the table after the job began (an old Worker still writing): they join the fixed set.
        const next: MigrationState = { ...state, end: later.last, total: state.total + later.n };
        if (!(await advanceState(db, state, next, now()))) break;
        state = next;
        continue;
      }
      if (await dropIfMigrated(db, state, now())) {
        state = { ...state, done: true };
        run.dropped = true;
        break;
      }
      continue;
    }

    const firstRowid = rows[0]!.rid;
    const lastRowid = rows[rows.length - 1]!.rid;
    const part = migratedPartName(firstRowid, lastRowid);
    const byWorkspace = new Map<string, NormalizedEvent[]>();
    let skipped = 0;
    for (const row of rows) {
      // A deleted workspace's history is gone, and so is an erased user's: such rows are not resurrected in the archive.
      if (!live.has(row.workspace_id) || isErased(erased, row)) {
        skipped++;
        continue;
      }
      const list = byWorkspace.get(row.workspace_id);
      if (list) list.push(rawRowToEvent(row));
      else byWorkspace.set(row.workspace_id, [rawRowToEvent(row)]);
    }
    const written = await Promise.all([...byWorkspace].map(([ws, events]) => writeArchiveBatch(bucket, ws, part, events)));
    const next: MigrationState = { ...state, cursor: lastRowid, migrated: state.migrated + rows.length, skipped: state.skipped + skipped };
    // After the puts: a crash before this line re-puts the same keys next run.
    if (!(await advanceState(db, state, next, now()))) break;
    state = next;
    run.rows += rows.length;
    run.objects += written.reduce((n, parts) => n + parts.length, 0);
  }
  return { ...progressOf(state), ...run };
}
