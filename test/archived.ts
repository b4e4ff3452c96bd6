import { env } from 'cloudflare:test';
import { ARCHIVE_ROOT, archiveRowToEvent, keyHour, readArchiveRange, workspacePrefix, type ArchiveColumn, type ArchiveRow } from '../src/archive';

const HOUR = 3_600_000;

/** The workspace ids that have objects in the archive. */
async function archivedWorkspaces(): Promise<string[]> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: ARCHIVE_ROOT, cursor });
    for (const o of page.objects) {
      const m = /^events\/workspace=([^/]+)\//.exec(o.key);
      if (m) ids.add(m[1]);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return [...ids];
}

/**
 * Every row the archive holds for a workspace (all its partitions), read the way the readers read
 * it: D1 holds no raw events, so this is what "stored" means in tests.
 */
export async function archivedRows(workspaceId: string, columns?: readonly ArchiveColumn[]): Promise<Partial<ArchiveRow>[]> {
  let lo = Infinity;
  let hi = -Infinity;
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: workspacePrefix(workspaceId), cursor });
    for (const o of page.objects) {
      const hour = keyHour(o.key);
      if (hour === null) continue;
      lo = Math.min(lo, hour);
      hi = Math.max(hi, hour);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const rows: Partial<ArchiveRow>[] = [];
  if (lo > hi) return rows;
  for await (const group of readArchiveRange(env.ARCHIVE, workspaceId, lo, hi + HOUR, columns)) rows.push(...group);
  return rows;
}

/** How many archived events of the workspace (or of every workspace) match `where`. */
export async function archivedCount(workspaceId: string | null, where: (row: Partial<ArchiveRow>) => boolean = () => true): Promise<number> {
  let n = 0;
  for (const id of workspaceId === null ? await archivedWorkspaces() : [workspaceId]) {
    for (const row of await archivedRows(id)) if (where(row)) n++;
  }
  return n;
}

/** How many distinct event ids the workspace's archive holds. */
export async function archivedDistinct(workspaceId: string): Promise<number> {
  return new Set((await archivedRows(workspaceId, ['id'])).map((r) => r.id)).size;
}

/**
 * Brute-force oracles of older tests are SQL over a table of raw events: this fills the legacy D1
 * `events` table (which nothing but the archive migration reads) with what the archive holds for
 * the workspace, context dimensions folded back into `context` as the event log shows them.
 */
export async function mirrorArchiveForSql(workspaceId: string): Promise<number> {
  await env.DB.prepare('DELETE FROM events WHERE workspace_id = ?').bind(workspaceId).run();
  const rows = await archivedRows(workspaceId);
  const statements = rows.map((row) => {
    const e = archiveRowToEvent(row as ArchiveRow);
    return env.DB.prepare(`INSERT INTO events (workspace_id, ts, id, type, received_at, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, properties, context)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(
      workspaceId, e.ts, e.id, e.type, e.receivedAt, e.userId, e.sessionId, e.room, e.durationMs, e.bytesIn, e.bytesOut, e.error, e.value,
      JSON.stringify(e.properties), JSON.stringify(e.context),
    );
  });
  for (let i = 0; i < statements.length; i += 500) await env.DB.batch(statements.slice(i, i + 500));
  return rows.length;
}

/** Deletes the workspace's archive objects of the UTC hours in [from, to) (all of them without a range). */
export async function deleteArchived(workspaceId: string, from = -Infinity, to = Infinity): Promise<number> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: workspacePrefix(workspaceId), cursor });
    for (const o of page.objects) {
      const hour = keyHour(o.key);
      if (hour !== null && hour >= from && hour < to) keys.push(o.key);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < keys.length; i += 1000) await env.ARCHIVE.delete(keys.slice(i, i + 1000));
  return keys.length;
}
