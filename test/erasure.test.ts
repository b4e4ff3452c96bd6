import { env, runInDurableObject } from 'cloudflare:test';
import { parquetMetadataAsync } from 'hyparquet';
import { ByteWriter, parquetWrite } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { partKey, r2AsyncBuffer, readArchiveFile, workspacePrefix, type ArchiveBucket, type ArchiveRow } from '../src/archive';
import { ARCHIVE_COLUMNS, ARCHIVE_SCHEMA } from '../src/archive/columns';
import { eraseUserFromObject } from '../src/archive/erase';
import { continueErasures, requestErasure, runErasure } from '../src/history/erasure';
import type { DrainHost } from '../src/live/drain';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { call, countRows, createWorkspace, flush, hub, type TestWorkspace } from './helpers';

const HOUR = 3_600_000;
const GONE = 'user-to-erase';

const send = async (ws: TestWorkspace, events: unknown[]) => {
  const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events } });
  expect(res.status).toBe(202);
  expect(res.json.accepted).toBe(events.length);
};
const erase = (ws: TestWorkspace, userId: string, token = ws.keys.admin) =>
  call('DELETE', `/api/v1/workspaces/${ws.slug}/users/${encodeURIComponent(userId)}`, { token });
const erasure = (ws: TestWorkspace, id: string, token = ws.keys.admin) => call('GET', `/api/v1/workspaces/${ws.slug}/erasures/${id}`, { token });

/** `n` events of `userId` spread over the last `hours` hours (so over several partitions), ids `prefix-i`. */
function events(prefix: string, userId: string, n: number, hours: number, extra: Record<string, unknown> = {}) {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`, type: i % 3 ? 'page.view' : 'call.error', userId, timestamp: now - (i % hours) * HOUR - 1000,
    value: i, durationMs: 10 + i, error: i % 3 ? undefined : 'E_FAIL', properties: { plan: 'pro', n: i }, ...extra,
  }));
}

/** Every row of every archive object of the workspace (no range: all partitions, compacted or not). */
async function archiveRows(ws: TestWorkspace): Promise<ArchiveRow[]> {
  const rows: ArchiveRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix: workspacePrefix(ws.id), cursor });
    for (const object of page.objects) {
      for await (const group of readArchiveFile(env.ARCHIVE, object.key, { byteLength: object.size })) rows.push(...(group.rows as ArchiveRow[]));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return rows;
}
const idsOf = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
const objectCount = async (ws: TestWorkspace) => (await env.ARCHIVE.list({ prefix: workspacePrefix(ws.id) })).objects.length;

type TestHost = DrainHost & { real?: ArchiveBucket; open?: () => void };
const hostOf = (instance: unknown) => (instance as { drain: { host: TestHost } }).drain.host;

/** The hub's bucket with another `put`. */
function withPut(real: ArchiveBucket, put: R2Bucket['put']): ArchiveBucket {
  return { put, get: real.get.bind(real), head: real.head.bind(real), list: real.list.bind(real), delete: real.delete.bind(real) };
}

/** Drains fail (R2 refuses puts) until `restore`: acknowledged events stay in the hub's outbox. */
function holdDrains(ws: TestWorkspace) {
  return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => {
    const host = hostOf(instance);
    host.real ??= host.bucket;
    host.bucket = withPut(host.real, (() => Promise.reject(new Error('test: R2 refuses puts'))) as R2Bucket['put']);
  });
}

/** The drain's archive puts wait until `openGate` (a drain stays in flight, holding its batches). */
function gateDrains(ws: TestWorkspace) {
  return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => {
    const host = hostOf(instance);
    const real = (host.real ??= host.bucket);
    const gate = new Promise<void>((resolve) => (host.open = resolve));
    host.bucket = withPut(real, (async (...args: Parameters<R2Bucket['put']>) => {
      await gate;
      return real.put(...args);
    }) as R2Bucket['put']);
  });
}
const openGate = (ws: TestWorkspace) => runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => hostOf(instance).open?.());
function restoreDrains(ws: TestWorkspace) {
  return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (instance) => {
    const host = hostOf(instance);
    if (host.real) host.bucket = host.real;
  });
}
const outboxUsers = (ws: TestWorkspace) =>
  runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (_i, state) =>
    state.storage.sql.exec<{ u: string | null }>(`SELECT e.value ->> '$.userId' AS u FROM outbox o, json_each(o.events) e`).toArray().map((r) => r.u),
  );

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 25_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const userRollup = (ws: TestWorkspace, userId: string, day: number) =>
  env.DB.prepare(
    `INSERT OR REPLACE INTO user_rollups (workspace_id, user_id, day, events, errors, bytes_in, bytes_out, value, duration_count, duration_sum, first_seen, last_seen)
     VALUES (?, ?, ?, 5, 1, 0, 0, 10, 5, 50, ?, ?)`,
  ).bind(ws.id, userId, day, day, day + 1000).run();

describe('erasure (DELETE …/users/{userId})', () => {
  it('leaves none of the user’s events anywhere readable, and everyone else’s untouched', async () => {
    const ws = await createWorkspace('erase');
    const a1 = events('a1', GONE, 24, 6);
    const k1 = events('k1', 'keeper-1', 30, 6);
    const k2 = events('k2', 'keeper-2', 12, 3);
    // Two drains into the archive (several parts per hour), the user mixed into both.
    await send(ws, [...a1.slice(0, 12), ...k1.slice(0, 15)]);
    await send(ws, k2);
    expect(await flush(ws)).toBe(0);
    await send(ws, [...k1.slice(15), ...a1.slice(12)]);
    expect(await flush(ws)).toBe(0);
    const partsBefore = await objectCount(ws);
    expect(partsBefore).toBeGreaterThan(6);

    // Acknowledged but not drained when the DELETE comes: in the outbox, in the live lists and a room's.
    await holdDrains(ws);
    const a2 = events('a2', GONE, 6, 2, { room: 'lobby' });
    const k3 = events('k3', 'keeper-1', 4, 2, { room: 'lobby' });
    await send(ws, [...k3, ...a2]);
    expect((await outboxUsers(ws)).filter((u) => u === GONE)).toHaveLength(6);
    const live = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(live.json.data.recentEvents.some((e: { userId: string }) => e.userId === GONE)).toBe(true);
    expect(live.json.data.topUsers.some((u: { userId: string }) => u.userId === GONE)).toBe(true);
    await until('the room to list the user', () => call('GET', `/api/v1/workspaces/${ws.slug}/rooms/lobby/live`, { token: ws.keys.read }), (r) =>
      r.json.data.recentEvents.some((e: { userId: string }) => e.userId === GONE));

    const today = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR;
    await userRollup(ws, GONE, today);
    await userRollup(ws, GONE, today - 24 * HOUR);
    await userRollup(ws, 'keeper-1', today);
    const legacyKept = await countRows(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND user_id != ?`, ws.id, GONE);
    const keptRows = (await archiveRows(ws)).filter((r) => r.user_id !== GONE);
    expect(keptRows).toHaveLength(42);

    const res = await erase(ws, GONE);
    expect(res.status).toBe(202);
    expect(res.json.erasure).toMatchObject({ id: expect.any(String), status: 'pending' });
    const done = await until('the erasure', () => erasure(ws, res.json.erasure.id), (r) => r.json.status === 'done');
    expect(done.status).toBe(200);
    // Every event of the user counted once: 24 from archive files, 6 from the outbox.
    expect(done.json).toMatchObject({ id: res.json.erasure.id, userId: GONE, status: 'done', eventsErased: 30, doneAt: expect.any(String) });

    // The archive: every file read in full holds none of the user's rows, and every other row as it was.
    const after = await archiveRows(ws);
    expect(after.filter((r) => r.user_id === GONE)).toEqual([]);
    expect(after.sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual(keptRows.sort((x, y) => (x.id < y.id ? -1 : 1)));
    // The outbox, the live lists (the hub's and the room's), the per-user rollups, the legacy D1 table.
    expect(await outboxUsers(ws)).not.toContain(GONE);
    expect((await outboxUsers(ws)).filter((u) => u === 'keeper-1')).toHaveLength(4);
    const liveAfter = await call('GET', `/api/v1/workspaces/${ws.slug}/live`, { token: ws.keys.read });
    expect(JSON.stringify(liveAfter.json.data.recentEvents)).not.toContain(GONE);
    expect(JSON.stringify(liveAfter.json.data.recentErrors)).not.toContain(GONE);
    expect(JSON.stringify(liveAfter.json.data.topUsers)).not.toContain(GONE);
    // Anonymous aggregates stay: the user's events are still counted.
    expect(liveAfter.json.data.eventsToday).toBe(live.json.data.eventsToday);
    const room = await call('GET', `/api/v1/workspaces/${ws.slug}/rooms/lobby/live`, { token: ws.keys.read });
    expect(JSON.stringify(room.json.data.recentEvents)).not.toContain(GONE);
    expect(room.json.data.recentEvents.some((e: { userId: string }) => e.userId === 'keeper-1')).toBe(true);
    expect(await countRows(`SELECT count(*) AS n FROM user_rollups WHERE workspace_id = ? AND user_id = ?`, ws.id, GONE)).toBe(0);
    expect(await countRows(`SELECT count(*) AS n FROM user_rollups WHERE workspace_id = ? AND user_id = 'keeper-1'`, ws.id)).toBe(1);
    expect(await countRows(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND user_id = ?`, ws.id, GONE)).toBe(0);
    expect(await countRows(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND user_id != ?`, ws.id, GONE)).toBe(legacyKept);

    // The held drain goes on: what reaches the archive is the other user's events only.
    await restoreDrains(ws);
    expect(await flush(ws)).toBe(0);
    const final = await archiveRows(ws);
    expect(final.filter((r) => r.user_id === GONE)).toEqual([]);
    expect(idsOf(final)).toEqual(idsOf([...keptRows, ...k3]));
  });

  it('waits for a drain in flight: the batch it writes holding the user is rewritten, not left behind', async () => {
    const ws = await createWorkspace('erase-inflight');
    await gateDrains(ws);
    await send(ws, [...events('g', GONE, 6, 3), ...events('o', 'other', 6, 3)]);
    // The drain has planned its batch (the user in it) and waits on R2.
    const flushing = flush(ws);
    await until('the drain to start', () => runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, (_i, state) =>
      state.storage.sql.exec(`SELECT 1 FROM meta WHERE key = 'drain'`).toArray().length), (n) => n > 0);
    const res = await erase(ws, GONE);
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect((await erasure(ws, res.json.erasure.id)).json).toMatchObject({ status: 'pending', eventsErased: 0 });
    await openGate(ws);
    expect(await flushing).toBe(0);
    const done = await until('the erasure', () => erasure(ws, res.json.erasure.id), (r) => r.json.status === 'done');
    expect(done.json.eventsErased).toBe(6);
    const rows = await archiveRows(ws);
    expect(rows.map((r) => r.user_id)).toEqual(Array(6).fill('other'));
    await restoreDrains(ws);
  });

  it('resumes where a run cut off by its budget stopped, counting every row once', async () => {
    const ws = await createWorkspace('erase-resume');
    for (let round = 0; round < 3; round++) {
      await send(ws, [...events(`g${round}`, GONE, 8, 4), ...events(`o${round}`, 'other', 8, 4)]);
      expect(await flush(ws)).toBe(0);
    }
    const others = (await archiveRows(ws)).filter((r) => r.user_id !== GONE);
    expect(others).toHaveLength(24);
    const { row, created } = await requestErasure(env.DB, ws.id, GONE);
    expect(created).toBe(true);
    // A budget of 0: every run takes one step and stops.
    let runs = 0;
    let outcome;
    do {
      outcome = await runErasure(env, row.id, 0);
      runs++;
      expect(runs).toBeLessThan(200);
    } while (outcome !== 'done');
    // hub, legacy, rollups, then one object at a time (12 objects), then the sweep.
    expect(runs).toBeGreaterThan(12);
    const res = await erasure(ws, row.id);
    expect(res.json).toMatchObject({ status: 'done', eventsErased: 24 });
    const after = await archiveRows(ws);
    expect(after.filter((r) => r.user_id === GONE)).toEqual([]);
    expect(idsOf(after)).toEqual(idsOf(others));
  });

  it('sweeps the objects put after its archive pass began (a compaction that read a file before it was rewritten)', async () => {
    const ws = await createWorkspace('erase-sweep');
    await send(ws, [...events('g', GONE, 4, 2), ...events('o', 'other', 4, 2)]);
    expect(await flush(ws)).toBe(0);
    const { row } = await requestErasure(env.DB, ws.id, GONE);
    const phase = async () => JSON.parse((await env.DB.prepare(`SELECT progress FROM erasures WHERE id = ?`).bind(row.id).first<{ progress: string | null }>())!.progress ?? '{"phase":"hub"}').phase;
    while ((await phase()) !== 'sweep') expect(await runErasure(env, row.id, 0)).toBe('pending');
    expect((await archiveRows(ws)).filter((r) => r.user_id === GONE)).toEqual([]);
    // A compacted file written from parts read before they were rewritten: the user is back in it.
    const late = partKey(ws.id, Date.now(), 'compacted');
    await env.ARCHIVE.put(late, compactedFile([{ id: 'g-0', user_id: GONE, ts: Date.now() - 5000 }, { id: 'o-0', user_id: 'other', ts: Date.now() - 4000 }]));
    while ((await runErasure(env, row.id, 0)) !== 'done');
    expect((await archiveRows(ws)).filter((r) => r.user_id === GONE)).toEqual([]);
    expect((await erasure(ws, row.id)).json.eventsErased).toBe(5);
  });

  it('is continued by the cron; a second DELETE while pending answers the pending one; one run at a time', async () => {
    const ws = await createWorkspace('erase-cron');
    await send(ws, [...events('g', GONE, 5, 2), ...events('o', 'other', 5, 2)]);
    expect(await flush(ws)).toBe(0);
    const first = await requestErasure(env.DB, ws.id, GONE);
    // A run holding the erasure (as if one were under way) keeps others out: the DELETE's own run too.
    await env.DB.prepare(`UPDATE erasures SET progress = json_object('phase', 'hub', 'leaseUntil', ?) WHERE id = ?`).bind(Date.now() + 60_000, first.row.id).run();
    const again = await erase(ws, GONE);
    expect(again.status).toBe(202);
    expect(again.json.erasure).toMatchObject({ id: first.row.id, status: 'pending' });
    expect((await requestErasure(env.DB, ws.id, GONE)).created).toBe(false);
    expect(await runErasure(env, first.row.id, 1000)).toBe('busy');
    // Another user's erasure in the same workspace waits too (both would rewrite the same files).
    const second = await requestErasure(env.DB, ws.id, 'other');
    expect(await runErasure(env, second.row.id, 1000)).toBe('busy');
    await env.DB.prepare(`DELETE FROM erasures WHERE id = ?`).bind(second.row.id).run();
    expect((await erasure(ws, first.row.id)).json).toMatchObject({ status: 'pending', eventsErased: 0 });
    // The holder died: once its lease is over, the cron takes the erasure up.
    await env.DB.prepare(`UPDATE erasures SET progress = json_object('phase', 'hub', 'leaseUntil', ?) WHERE id = ?`).bind(Date.now() - 1, first.row.id).run();
    await until('the cron to finish it', async () => {
      await continueErasures(env, 5_000);
      return (await erasure(ws, first.row.id)).json;
    }, (e) => e.status === 'done');
    expect((await erasure(ws, first.row.id)).json.eventsErased).toBe(5);
    expect((await archiveRows(ws)).map((r) => r.user_id)).toEqual(Array(5).fill('other'));
    // Done: a new DELETE is a new erasure (events sent since).
    const later = await erase(ws, GONE);
    expect(later.json.erasure.id).not.toBe(first.row.id);
  });

  it('answers 404 for an unknown erasure, 403 for keys that are not admin keys, 400 for a bad user id', async () => {
    const ws = await createWorkspace('erase-auth');
    const other = await createWorkspace('erase-auth2');
    expect((await erasure(ws, 'no-such-erasure')).status).toBe(404);
    expect((await erasure(ws, 'no-such-erasure')).json.error.code).toBe('not_found');
    expect((await erase(ws, GONE, ws.keys.read)).status).toBe(403);
    expect((await erase(ws, GONE, ws.keys.ingest)).status).toBe(403);
    expect((await erase(ws, GONE, other.keys.admin)).status).toBe(403);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/users/${GONE}`)).status).toBe(401);
    expect((await erase(ws, 'x'.repeat(129))).status).toBe(400);
    expect(await countRows(`SELECT count(*) AS n FROM erasures WHERE workspace_id = ?`, ws.id)).toBe(0);
    const made = await erase(ws, GONE);
    expect((await erasure(ws, made.json.erasure.id, ws.keys.read)).status).toBe(403);
    expect((await erasure(other, made.json.erasure.id)).status).toBe(404);
    const doc = await call('GET', '/api/v1/openapi.json');
    expect(doc.json.paths['/api/v1/workspaces/{ws}/users/{userId}'].delete.description).toMatch(/archive/);
    expect(doc.json.paths['/api/v1/workspaces/{ws}/users/{userId}'].get).toBeDefined();
    expect(doc.json.paths['/api/v1/workspaces/{ws}/erasures/{id}'].get.description).toMatch(/eventsErased/);
  });
});

/** A file as compaction writes one: rows of several users and `edgepulse.covers` in its key-value metadata. */
function compactedFile(rows: Array<{ id: string; user_id: string | null; ts: number }>): Uint8Array {
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    schema: ARCHIVE_SCHEMA,
    columnData: ARCHIVE_COLUMNS.map((c) => ({
      name: c.name,
      data: rows.map((r) => {
        if (c.name === 'id' || c.name === 'user_id' || c.name === 'ts') return r[c.name];
        if (c.name === 'received_at') return r.ts;
        if (c.name === 'type') return 'page.view';
        if (c.name === 'bytes_in') return 7n;
        return null;
      }),
      nullable: c.required !== true,
    })),
    rowGroupSize: 2,
    kvMetadata: [{ key: 'edgepulse.covers', value: '["p1","p2"]' }],
  });
  return new Uint8Array(writer.getBuffer());
}

describe('eraseUserFromObject', () => {
  const ts = Date.UTC(2026, 10, 20, 10, 5);
  const key = (name: string) => partKey('erase-unit', ts, name);
  const read = async (k: string) => {
    const head = (await env.ARCHIVE.head(k))!;
    const meta = await parquetMetadataAsync(r2AsyncBuffer(env.ARCHIVE, k, head.size));
    const rows: Partial<ArchiveRow>[] = [];
    for await (const g of readArchiveFile(env.ARCHIVE, k)) rows.push(...g.rows);
    return { meta, rows };
  };

  it('keeps the key-value metadata and every other row, and leaves an empty file (not no file) when only the user was in it', async () => {
    const k = key('compacted');
    await env.ARCHIVE.put(k, compactedFile([
      { id: 'a', user_id: 'x', ts }, { id: 'b', user_id: GONE, ts: ts + 1 }, { id: 'c', user_id: null, ts: ts + 2 },
      { id: 'd', user_id: GONE, ts: ts + 3 }, { id: 'e', user_id: 'y', ts: ts + 4 },
    ]));
    expect(await eraseUserFromObject(env.ARCHIVE, k, 'nobody')).toEqual({ outcome: 'absent' });
    expect(await eraseUserFromObject(env.ARCHIVE, k, GONE)).toEqual({ outcome: 'rewritten', removed: 2, kept: 3 });
    const { meta, rows } = await read(k);
    expect(meta.key_value_metadata).toEqual([{ key: 'edgepulse.covers', value: '["p1","p2"]' }]);
    expect(rows.map((r) => [r.id, r.user_id, r.ts, r.bytes_in, r.type])).toEqual([
      ['a', 'x', ts, 7, 'page.view'], ['c', null, ts + 2, 7, 'page.view'], ['e', 'y', ts + 4, 7, 'page.view'],
    ]);

    const only = key('compacted-only');
    await env.ARCHIVE.put(only, compactedFile([{ id: 'z', user_id: GONE, ts }]));
    expect(await eraseUserFromObject(env.ARCHIVE, only, GONE)).toEqual({ outcome: 'rewritten', removed: 1, kept: 0 });
    const empty = await read(only);
    expect(empty.rows).toEqual([]);
    expect(empty.meta.key_value_metadata).toEqual([{ key: 'edgepulse.covers', value: '["p1","p2"]' }]);
  });

  it('never undoes a replacement or brings back a deleted object (the put is conditional on the etag read)', async () => {
    const k = key('raced');
    const original = compactedFile([{ id: 'a', user_id: GONE, ts }, { id: 'b', user_id: 'x', ts }]);
    const replacement = compactedFile([{ id: 'a', user_id: GONE, ts }, { id: 'b', user_id: 'x', ts }, { id: 'n', user_id: 'x', ts }]);
    // Something (compaction, a drain retry) replaces the object between the read and the put.
    const replacing: ArchiveBucket = {
      head: (x) => env.ARCHIVE.head(x), get: ((x: string, o?: R2GetOptions) => env.ARCHIVE.get(x, o)) as R2Bucket['get'],
      list: (o) => env.ARCHIVE.list(o), delete: (x) => env.ARCHIVE.delete(x),
      put: (async (x: string, body: Uint8Array, o?: R2PutOptions) => {
        await env.ARCHIVE.put(x, replacement);
        return env.ARCHIVE.put(x, body, o);
      }) as R2Bucket['put'],
    };
    await env.ARCHIVE.put(k, original);
    expect(await eraseUserFromObject(replacing, k, GONE)).toEqual({ outcome: 'changed' });
    expect((await read(k)).rows.map((r) => r.id)).toEqual(['a', 'b', 'n']);
    // Deleted meanwhile (retention, a fenced drain's cleanup): it stays deleted.
    const deleting: ArchiveBucket = { ...replacing, put: (async (x: string, body: Uint8Array, o?: R2PutOptions) => {
      await env.ARCHIVE.delete(x);
      return env.ARCHIVE.put(x, body, o);
    }) as R2Bucket['put'] };
    expect(await eraseUserFromObject(deleting, k, GONE)).toEqual({ outcome: 'gone' });
    expect(await env.ARCHIVE.head(k)).toBeNull();
  });
});
