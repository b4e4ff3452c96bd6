/** The `job_state` table: where a resumable cron job keeps its progress between runs (JSON). */
export async function readJobState<T>(db: D1Database, name: string): Promise<T | null> {
  const row = await db.prepare(`SELECT state FROM job_state WHERE name = ?1`).bind(name).first<{ state: string }>();
  return row ? (JSON.parse(row.state) as T) : null;
}

export function jobStateUpsert(db: D1Database, name: string, state: unknown, now = Date.now()): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, ?2, ?3)
      ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
    .bind(name, JSON.stringify(state), now);
}

export async function writeJobState(db: D1Database, name: string, state: unknown, now = Date.now()): Promise<void> {
  await jobStateUpsert(db, name, state, now).run();
}

export async function deleteJobState(db: D1Database, name: string): Promise<void> {
  await db.prepare(`DELETE FROM job_state WHERE name = ?1`).bind(name).run();
}

/** The names of the jobs starting with `prefix`, oldest first. */
export async function jobsNamed(db: D1Database, prefix: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT name FROM job_state WHERE substr(name, 1, length(?1)) = ?1 ORDER BY updated_at, name`)
    .bind(prefix)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}
