// What an event cost over its whole life in one workspace, once its hub's outbox is drained: rows
// written (the hub's DO cursor rowsWritten, D1's meta.rows_written, retention's deletes), archive
// objects and drains; and how many acknowledged events the archive holds.

/** Rows in the archive objects under the workspace (each object's `rows` custom metadata), and the objects. */
async function archived(bucket, workspaceId) {
  let rows = 0;
  let objects = 0;
  let cursor;
  do {
    const page = await bucket.list({ prefix: `events/workspace=${workspaceId}/`, include: ['customMetadata'], cursor });
    for (const o of page.objects) {
      objects++;
      rows += Number(o.customMetadata?.rows ?? 0);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { rows, objects };
}

/** Rows written by a statement that may name a table gone by now (the D1 events table once migrated away). */
async function rowsWrittenBy(db, sql, ...binds) {
  try {
    return (await db.prepare(sql).bind(...binds).run()).meta.rows_written;
  } catch (err) {
    if (/no such table/.test(String(err))) return 0;
    throw err;
  }
}

/** `acked`: the events the case had acknowledged (202s, warm-up included): the divisor. */
export async function lifeOf(worker, slug, acked) {
  const row = await worker.db.prepare('SELECT id FROM workspaces WHERE slug = ?').bind(slug).first();
  const hub = await worker.hub(row.id);
  const left = await hub.flush();
  const usage = await hub.usage();
  const archive = await archived(await worker.bucket(), row.id);
  const drains = (await worker.db.prepare('SELECT count(*) AS n FROM drain_log WHERE workspace_id = ?').bind(row.id).first()).n;
  // Retention as it runs: D1 rows still written per event (raw rows while the drain writes them), and the drain log;
  // the archive's partitions go by R2 deletes (free, no rows).
  const retention = (await rowsWrittenBy(worker.db, 'DELETE FROM events WHERE workspace_id = ?', row.id)) + (await rowsWrittenBy(worker.db, 'DELETE FROM drain_log WHERE workspace_id = ?', row.id));
  return {
    acked, left, drains, archived: archive.rows, objects: archive.objects, puts: usage.archivePuts,
    hub: usage.rowsWritten / acked,
    d1: usage.d1RowsWritten / acked,
    retention: retention / acked,
  };
}
