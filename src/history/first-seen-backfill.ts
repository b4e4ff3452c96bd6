/**
 * The one-time backfill of user_first_seen from user_rollups for installations that drained events
 * before the table existed: each user's earliest first_seen among their daily rows. Continued by the
 * cron until done, then a no-op (one job_state read). Rows older than the raw retention were pruned
 * from user_rollups before this ran, so a user last seen before then cannot be recovered, and one
 * first seen before then counts from their oldest day still kept.
 *
 * Safe to repeat and to race with drains: a row only ever moves to an earlier time (min), so a
 * chunk run twice, or a drain writing the same user, gives the same answer.
 */
export const FIRST_SEEN_BACKFILL_JOB = 'first-seen-backfill';

interface BackfillState {
  /** Every (workspace, user) up to this key, in PK order, is done. */
  after: [string, string] | null;
  users: number;
  done: boolean;
}

export interface BackfillRun {
  /** Users upserted by this run. */
  users: number;
  done: boolean;
}

/** Users per chunk: one bounded INSERT … SELECT each. */
export const BACKFILL_CHUNK_USERS = 5_000;

async function readState(db: D1Database): Promise<BackfillState> {
  const row = await db.prepare(`SELECT state FROM job_state WHERE name = ?1`).bind(FIRST_SEEN_BACKFILL_JOB).first<{ state: string }>();
  return row ? (JSON.parse(row.state) as BackfillState) : { after: null, users: 0, done: false };
}

const saveState = (db: D1Database, state: BackfillState, now: number) =>
  db.prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, ?2, ?3)
      ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
    .bind(FIRST_SEEN_BACKFILL_JOB, JSON.stringify(state), now);

/** The last (workspace, user) of the next chunk after `after`, and how many users it holds. */
async function chunkEnd(db: D1Database, after: [string, string] | null, size: number): Promise<{ end: [string, string]; n: number } | null> {
  const [ws, user] = after ?? ['', ''];
  const { results } = await db
    .prepare(`SELECT workspace_id AS ws, user_id AS user FROM user_rollups
      WHERE (workspace_id, user_id) > (?1, ?2) GROUP BY workspace_id, user_id ORDER BY workspace_id, user_id LIMIT ?3`)
    .bind(ws, user, size)
    .all<{ ws: string; user: string }>();
  const last = results.at(-1);
  return last ? { end: [last.ws, last.user], n: results.length } : null;
}

/**
 * Upserts the earliest first_seen of every user in (after, end]: of live workspaces only, so a
 * chunk racing a workspace deletion leaves no row behind it.
 */
const upsertChunk = (db: D1Database, after: [string, string] | null, end: [string, string]) =>
  db.prepare(`INSERT INTO user_first_seen (workspace_id, user_id, first_seen)
      SELECT workspace_id, user_id, min(first_seen) FROM user_rollups
      WHERE (workspace_id, user_id) > (?1, ?2) AND (workspace_id, user_id) <= (?3, ?4)
        AND workspace_id IN (SELECT id FROM workspaces)
      GROUP BY workspace_id, user_id
    ON CONFLICT (workspace_id, user_id) DO UPDATE SET first_seen = excluded.first_seen
    WHERE excluded.first_seen < user_first_seen.first_seen`)
    .bind(...(after ?? ['', '']), ...end);

/** Runs chunks until done or `budgetMs` has passed (at least one chunk runs, so every run advances). */
export async function runFirstSeenBackfill(db: D1Database, opts: { budgetMs?: number; chunkUsers?: number; now?: number } = {}): Promise<BackfillRun> {
  const deadline = Date.now() + (opts.budgetMs ?? 10_000);
  const size = opts.chunkUsers ?? BACKFILL_CHUNK_USERS;
  const state = await readState(db);
  let users = 0;
  while (!state.done) {
    const chunk = await chunkEnd(db, state.after, size);
    if (!chunk) {
      state.done = true;
      await saveState(db, state, opts.now ?? Date.now()).run();
      break;
    }
    const from = state.after;
    state.after = chunk.end;
    state.users += chunk.n;
    users += chunk.n;
    // The chunk and the cursor move in one transaction: a run cut off repeats nothing.
    await db.batch([upsertChunk(db, from, chunk.end), saveState(db, state, opts.now ?? Date.now())]);
    if (Date.now() > deadline) break;
  }
  return { users, done: state.done };
}
