// What the benchmarks' local storage holds: D1 bytes per table (SQLite's dbstat over Miniflare's
// persisted D1 file; D1 itself refuses dbstat and page pragmas) and the R2 archive's objects.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The persisted D1 database file under Miniflare's d1Persist directory (not its metadata file). */
export function d1File(d1Persist) {
  const dir = join(d1Persist, 'miniflare-D1DatabaseObject');
  const file = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  if (!file) throw new Error(`no D1 database file in ${dir}`);
  return join(dir, file);
}

function sqlite(file, sql) {
  const out = spawnSync('sqlite3', ['-readonly', '-json', file, sql], { encoding: 'utf8' });
  if (out.error || out.status !== 0) throw new Error(`sqlite3: ${out.error?.message ?? out.stderr}`);
  return out.stdout.trim() ? JSON.parse(out.stdout) : [];
}

/**
 * Bytes of D1 pages per table, its indexes included (dbstat), and the rollups table split by grain
 * (its pages shared out by the bytes of its rows' values). Falls back to the file's size (one entry,
 * `(file)`) where the sqlite3 command-line tool is missing.
 */
export function d1TableBytes(d1Persist) {
  const file = d1File(d1Persist);
  let pages;
  try {
    pages = sqlite(file, 'SELECT m.tbl_name AS tbl, sum(d.pgsize) AS bytes FROM dbstat d JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name');
  } catch (err) {
    const size = ['', '-wal'].reduce((s, ext) => s + (statSafe(file + ext)?.size ?? 0), 0);
    return { tables: { '(file)': size }, note: `sqlite3 unavailable (${String(err.message).slice(0, 80)}): D1 file size instead of dbstat` };
  }
  const tables = Object.fromEntries(pages.map((p) => [p.tbl, p.bytes]));
  if (tables.rollups) {
    const cols = sqlite(file, 'SELECT name FROM pragma_table_info(\'rollups\')').map((c) => `coalesce(length("${c.name}"), 0)`);
    const grains = sqlite(file, `SELECT grain, count(*) AS rows, sum(${cols.join(' + ')}) AS payload FROM rollups GROUP BY grain`);
    const total = grains.reduce((s, g) => s + g.payload, 0);
    if (total > 0) {
      const pagesOfRollups = tables.rollups;
      delete tables.rollups;
      for (const g of grains) tables[`rollups (${g.grain})`] = Math.round((pagesOfRollups * g.payload) / total);
    }
  }
  return { tables, note: 'dbstat page bytes (tables and their indexes)' };
}

/** Rows per table, for the report beside the bytes. */
export function d1RowCounts(d1Persist, tables) {
  const file = d1File(d1Persist);
  const out = {};
  for (const t of tables) {
    try {
      out[t] = sqlite(file, `SELECT count(*) AS n FROM "${t}"`)[0].n;
    } catch {
      // a table that is gone (the raw events table after the migration)
    }
  }
  try {
    for (const g of sqlite(file, 'SELECT grain, count(*) AS n FROM rollups GROUP BY grain')) out[`rollups (${g.grain})`] = g.n;
  } catch {
    // no rollups table
  }
  return out;
}

function statSafe(path) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Every object under `prefix` in an R2 bucket (Miniflare's getR2Bucket): key and size. */
export async function listObjects(bucket, prefix = 'events/') {
  const out = [];
  let cursor;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) out.push({ key: o.key, size: o.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}
