/**
 * Archive objects to delete (a fenced drain's, a dead letter's), kept in the hub's meta table until R2
 * deleted them, and deleted before any other archive write, so an event never stays in two files.
 * Changed inside the hub store's transactions that set batches apart or aside.
 */
export class ArchiveDeletes {
  /** Rows written since the object started. */
  rowsWritten = 0;

  constructor(private readonly sql: SqlStorage) {}

  private exec(query: string, ...bindings: unknown[]): void {
    this.rowsWritten += this.sql.exec(query, ...bindings).rowsWritten;
  }

  pending(): string[] {
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'archiveDeletes'`).toArray()[0];
    return row ? (JSON.parse(row.value) as string[]) : [];
  }

  add(keys: readonly string[]): void {
    if (!keys.length) return;
    this.save([...new Set([...this.pending(), ...keys])]);
  }

  /** R2 deleted these (or a write under them committed and they stay). */
  drop(keys: readonly string[]): void {
    if (!keys.length) return;
    const gone = new Set(keys);
    this.save(this.pending().filter((k) => !gone.has(k)));
  }

  private save(keys: string[]): void {
    if (keys.length) this.exec(`INSERT INTO meta (key, value) VALUES ('archiveDeletes', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, JSON.stringify(keys));
    else this.exec(`DELETE FROM meta WHERE key = 'archiveDeletes'`);
  }
}
