import { env } from 'cloudflare:test';
import { ARCHIVE_ROOT, keyHour, readArchiveRange, workspacePrefix, type ArchiveColumn, type ArchiveRow } from '../src/archive';

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
