/** Chunk size of a stored live-state snapshot (a SQLite value is limited to 2 MB). */
const CHUNK_CHARS = 500_000;

/**
 * A hub's live-state snapshot in its own SQLite, as JSON in a few chunked rows (at most
 * LIMITS.liveSnapshotMaxBytes: workspace-live.ts trims it), never written per event.
 */
export class LiveStore {
  rowsWritten = 0;
  /** Size and rows written of the last snapshot saved (measured by the tests). */
  last = { chars: 0, rows: 0 };
  saves = 0;

  /** `table`: the live snapshot's by default; the alert windows keep theirs alike. */
  constructor(private readonly sql: SqlStorage, private readonly table = 'live_state') {
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  }

  save(value: unknown): void {
    this.saveText(JSON.stringify(value));
  }

  saveText(text: string): void {
    const before = this.rowsWritten;
    const chunks = Math.max(1, Math.ceil(text.length / CHUNK_CHARS));
    for (let i = 0; i < chunks; i++) {
      const cursor = this.sql.exec(
        `INSERT INTO ${this.table} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
        i,
        text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS),
      );
      this.rowsWritten += cursor.rowsWritten;
    }
    this.rowsWritten += this.sql.exec(`DELETE FROM ${this.table} WHERE k >= ?`, chunks).rowsWritten;
    this.last = { chars: text.length, rows: this.rowsWritten - before };
    this.saves++;
  }

  load<T>(): T | undefined {
    const rows = this.sql.exec<{ v: string }>(`SELECT v FROM ${this.table} ORDER BY k`).toArray();
    if (!rows.length) return undefined;
    try {
      return JSON.parse(rows.map((r) => r.v).join('')) as T;
    } catch {
      return undefined; // a snapshot from an incompatible version: start fresh
    }
  }
}
