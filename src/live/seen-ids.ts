import { LIMITS } from '../shared/limits';

const DAY_MS = 86_400_000;
/** Ids per JSON parameter: 10,000 ids of at most 64 characters stay well under 2 MB. */
const IDS_PER_STATEMENT = 10_000;

export function* chunked<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * The hub's de-duplication records: event ids in one table per UTC day, so retention drops a whole
 * table and an id costs one row written in its life. Call inside the caller's transaction.
 */
export class SeenIds {
  /** Rows written since the object started (DO cursor `rowsWritten`). */
  rowsWritten = 0;
  private days: number[] = [];
  /** The query over the day tables in `days` (rebuilt when they change). */
  private knownQuery: string | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** Re-reads which day tables exist (after start or `deleteAll()`). */
  open(): void {
    this.days = this.sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'seen_%'`)
      .toArray()
      .map((r) => Number(r.name.slice(5)))
      .sort((a, b) => b - a);
    this.knownQuery = undefined;
  }

  private exec(query: string, ...bindings: unknown[]): void {
    this.rowsWritten += this.sql.exec(query, ...bindings).rowsWritten;
  }

  /** The ids among `ids` already seen in any day table still kept: one query over all of them. */
  known(ids: string[]): Set<string> {
    const known = new Set<string>();
    if (!this.days.length) return known;
    // EXISTS per day table rather than UNION ALL: workerd caps compound SELECTs below the 8 tables kept.
    this.knownQuery ??= `SELECT j.value AS id FROM json_each(?1) j WHERE ${this.days.map((day) => `EXISTS (SELECT 1 FROM seen_${day} s WHERE s.id = j.value)`).join(' OR ')}`;
    for (const chunk of chunked(ids, IDS_PER_STATEMENT)) {
      for (const row of this.sql.exec<{ id: string }>(this.knownQuery, JSON.stringify(chunk))) known.add(row.id);
    }
    return known;
  }

  /** Records new ids under the day of `now`. */
  record(ids: string[], now: number): void {
    const today = Math.floor(now / DAY_MS);
    this.ensureDay(now);
    for (const chunk of chunked(ids, IDS_PER_STATEMENT)) {
      this.exec(`INSERT INTO seen_${today} (id) SELECT value FROM json_each(?)`, JSON.stringify(chunk));
    }
  }

  /** Makes the table of `now`'s day, dropping days past the window (before ids are looked up). */
  ensureDay(now: number): void {
    const day = Math.floor(now / DAY_MS);
    if (this.days.includes(day)) return;
    this.exec(`CREATE TABLE IF NOT EXISTS seen_${day} (id TEXT PRIMARY KEY) WITHOUT ROWID`);
    this.days = [day, ...this.days].sort((a, b) => b - a);
    this.knownQuery = undefined;
    this.prune(day);
  }

  /** Drops whole days older than the de-duplication window (plus one for the day boundary). */
  private prune(today: number): void {
    const oldest = today - LIMITS.dedupeDays;
    for (const day of this.days.filter((d) => d < oldest)) this.exec(`DROP TABLE IF EXISTS seen_${day}`);
    this.days = this.days.filter((d) => d >= oldest);
    this.knownQuery = undefined;
  }
}
