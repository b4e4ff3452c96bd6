import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { runArchiveJobs } from '../src/archive/archive-jobs';
import { compactHour } from '../src/archive/compaction';
import { hourPrefix, workspacePrefix } from '../src/archive/layout';
import { archiveRowToEvent, readArchiveFile, readArchiveMetadata, type ArchiveRow } from '../src/archive/parquet-read';
import { COMPACTED_PART, compactedCovers, listArchiveHour, listArchiveParts, writeArchiveBatch } from '../src/archive/store';
import { readArchiveRange } from '../src/archive/read-range';
import type { NormalizedEvent } from '../src/ingest/types';
import { LIMITS } from '../src/shared/limits';
import { extremeEvents, realisticEvents } from './archive-events';
import { call, createWorkspace, ROOT } from './helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 27, 22, 0, 0); // closed long ago; the next hour is another UTC date
const AFTER_GRACE = () => Date.now() + LIMITS.archivePartGraceMs + 1000;
let wsSeq = 0;
const newWorkspace = () => `ws-compact-${Date.now().toString(36)}-${++wsSeq}`;

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.ARCHIVE.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

async function readRange(ws: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const rows of readArchiveRange(env.ARCHIVE, ws, from, to, ['id'])) ids.push(...rows.map((r) => r.id!));
  return ids;
}

/** Writes `events` as `drains` drain parts (round robin), as a trickle of drains would. */
async function drainInParts(ws: string, events: readonly NormalizedEvent[], drains: number, prefix = 'drain'): Promise<void> {
  for (let d = 0; d < drains; d++) await writeArchiveBatch(env.ARCHIVE, ws, `${prefix}-${d}`, events.filter((_, i) => i % drains === d));
}

async function compactAll(ws: string, hours: number[], now = Date.now()) {
  const done = [];
  for (const hour of hours) done.push(await compactHour(env.ARCHIVE, ws, await listArchiveHour(env.ARCHIVE, ws, hour), now));
  return done;
}

/** The ids of a reader's next yield (it must yield). */
async function nextIds(reader: AsyncGenerator<Partial<ArchiveRow>[]>): Promise<string[]> {
  const next = await reader.next();
  if (next.done) throw new Error('the reader ended');
  return next.value.map((r) => r.id!);
}

const sorted = (ids: string[]) => [...ids].sort();
const byTsThenId = (a: NormalizedEvent, b: NormalizedEvent) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('compaction', () => {
  it('merges a closed hour into one compacted file sorted by (ts, id), row groups of 10,000, the same rows', async () => {
    const ws = newWorkspace();
    const events = [...realisticEvents(24_000, T0, HOUR, 11), ...realisticEvents(600, T0 + HOUR, HOUR, 12), ...extremeEvents(T0 + 5)];
    await drainInParts(ws, events, 6);
    expect(await keysUnder(workspacePrefix(ws))).toHaveLength(12);

    const [first, second] = await compactAll(ws, [T0, T0 + HOUR]);
    expect(first).toMatchObject({ merged: 6, rows: events.filter((e) => e.ts < T0 + HOUR).length, deleted: 0 });
    expect(second).toMatchObject({ merged: 6, rows: events.filter((e) => e.ts >= T0 + HOUR).length });

    // Readers see only the compacted file of each hour now, the parts are kept through the grace period.
    const parts = await listArchiveParts(env.ARCHIVE, ws, T0, T0 + 2 * HOUR);
    expect(parts.map((p) => p.key)).toEqual([`${hourPrefix(ws, T0)}compacted.parquet`, `${hourPrefix(ws, T0 + HOUR)}compacted.parquet`]);
    expect(await keysUnder(workspacePrefix(ws))).toHaveLength(14);

    const back: NormalizedEvent[] = [];
    for (const part of parts) {
      const metadata = await readArchiveMetadata(env.ARCHIVE, part.key, part.size);
      expect([...compactedCovers(metadata, part.key)].sort()).toEqual(Array.from({ length: 6 }, (_, d) => `drain-${d}`));
      const groups = metadata.row_groups.map((g) => Number(g.num_rows));
      expect(groups.every((n, i) => n === 10_000 || i === groups.length - 1)).toBe(true);
      const rows: NormalizedEvent[] = [];
      for await (const g of readArchiveFile(env.ARCHIVE, part.key, { byteLength: part.size })) rows.push(...g.rows.map((r) => archiveRowToEvent(r as ArchiveRow)));
      expect(rows).toEqual([...rows].sort(byTsThenId));
      back.push(...rows);
    }
    expect(back.sort(byTsThenId)).toEqual([...events].sort(byTsThenId));

    // A later run past the grace period deletes the covered parts; nothing is merged again.
    expect(await compactAll(ws, [T0, T0 + HOUR], AFTER_GRACE())).toEqual([{ merged: 0, rows: 0, deleted: 6 }, { merged: 0, rows: 0, deleted: 6 }]);
    expect(await keysUnder(workspacePrefix(ws))).toEqual(parts.map((p) => p.key));
    expect(sorted(await readRange(ws, T0, T0 + 2 * HOUR))).toEqual(sorted(events.map((e) => e.id)));
  });

  it('leaves open hours alone and merges parts that arrive late into the compacted file', async () => {
    const ws = newWorkspace();
    const open = Date.now() - 5 * 60_000;
    await drainInParts(ws, realisticEvents(50, open - (open % HOUR), Math.max(1, open % HOUR), 3), 3);
    expect(await compactAll(ws, [open - (open % HOUR)])).toEqual([{ merged: 0, rows: 0, deleted: 0 }]);

    const early = realisticEvents(300, T0, HOUR, 4);
    await drainInParts(ws, early, 3);
    await compactAll(ws, [T0]);
    const late = realisticEvents(40, T0, HOUR, 5);
    await writeArchiveBatch(env.ARCHIVE, ws, 'late', late);
    expect((await listArchiveParts(env.ARCHIVE, ws, T0, T0 + HOUR)).map((p) => p.key.split('/').pop())).toEqual(['compacted.parquet', 'late.parquet']);
    const [merged] = await compactAll(ws, [T0]);
    expect(merged).toMatchObject({ merged: 1, rows: 340 });
    const hour = await listArchiveHour(env.ARCHIVE, ws, T0);
    expect([...hour.compacted!.covers].sort()).toEqual(['drain-0', 'drain-1', 'drain-2', 'late']);
    expect(hour.parts).toEqual([]);
    expect(sorted(await readRange(ws, T0, T0 + HOUR))).toEqual(sorted([...early, ...late].map((e) => e.id)));
  });

  it('a drain part re-put after compaction (a late retry, same name) is not counted twice', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(400, T0, HOUR, 6);
    await drainInParts(ws, events, 2, 'retry');
    await compactAll(ws, [T0]);
    await compactAll(ws, [T0], AFTER_GRACE()); // the parts are deleted
    expect(await keysUnder(hourPrefix(ws, T0))).toEqual([`${hourPrefix(ws, T0)}${COMPACTED_PART}.parquet`]);

    // The drain is retried late: it writes its part again under the same name.
    await writeArchiveBatch(env.ARCHIVE, ws, 'retry-1', events.filter((_, i) => i % 2 === 1));
    const ids = await readRange(ws, T0, T0 + HOUR);
    expect(ids).toHaveLength(400);
    expect(sorted(ids)).toEqual(sorted(events.map((e) => e.id)));
    // The cron does not merge it again; it deletes it after the grace period.
    expect(await compactAll(ws, [T0])).toEqual([{ merged: 0, rows: 0, deleted: 0 }]);
    expect(await compactAll(ws, [T0], AFTER_GRACE())).toEqual([{ merged: 0, rows: 0, deleted: 1 }]);
    expect(sorted(await readRange(ws, T0, T0 + HOUR))).toEqual(sorted(events.map((e) => e.id)));
  });
});

describe('a reader racing compaction sees every event exactly once', () => {
  it('list, compact, delete after grace, read: an hour not yet read from starts over from the compacted file', async () => {
    const ws = newWorkspace();
    const events = [...realisticEvents(300, T0, HOUR, 7), ...realisticEvents(300, T0 + HOUR, HOUR, 8)];
    await drainInParts(ws, events, 4);
    // The reader's GETs wait until the test has compacted and deleted: its listing is from before both.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let listed = 0;
    const gated = {
      list: async (o?: R2ListOptions) => (listed++, env.ARCHIVE.list(o)),
      get: async (key: string, o?: R2GetOptions) => (await gate, env.ARCHIVE.get(key, o)),
    } as Pick<R2Bucket, 'get' | 'list'>;
    const reader = readArchiveRange(gated, ws, T0, T0 + 2 * HOUR, ['id']);
    const firstRows = reader.next();
    for (let i = 0; i < 100 && !listed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(listed).toBe(1);
    await compactAll(ws, [T0, T0 + HOUR]);
    await compactAll(ws, [T0, T0 + HOUR], AFTER_GRACE());
    expect(await keysUnder(hourPrefix(ws, T0))).toEqual([`${hourPrefix(ws, T0)}${COMPACTED_PART}.parquet`]);
    release();
    const got: string[] = [];
    for (let r = await firstRows; !r.done; r = await reader.next()) got.push(...r.value.map((x) => x.id!));
    expect(got).toHaveLength(events.length);
    expect(sorted(got)).toEqual(sorted(events.map((e) => e.id)));
  });

  it('a read that yielded part of an hour and then lost its parts (slower than the grace period) fails clearly, never counts twice', async () => {
    const ws = newWorkspace();
    await drainInParts(ws, realisticEvents(300, T0, HOUR, 17), 4);
    const reader = readArchiveRange(env.ARCHIVE, ws, T0, T0 + HOUR, ['id']);
    const ids = await nextIds(reader);
    await compactAll(ws, [T0]);
    await compactAll(ws, [T0], AFTER_GRACE());
    await expect((async () => {
      for (let r = await reader.next(); !r.done; r = await reader.next()) ids.push(...r.value.map((x) => x.id!));
    })()).rejects.toThrow('is gone');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('compaction during the read (within the grace period): parts read on, a replaced compacted file resumes past its watermark', async () => {
    const ws = newWorkspace();
    const base = realisticEvents(25_000, T0, HOUR, 9); // three row groups once compacted
    await drainInParts(ws, base, 2, 'base');
    await compactAll(ws, [T0]);
    const lateA = realisticEvents(500, T0, HOUR, 10);
    const lateB = realisticEvents(500, T0, HOUR, 13);
    await writeArchiveBatch(env.ARCHIVE, ws, 'late-a', lateA);
    await writeArchiveBatch(env.ARCHIVE, ws, 'late-b', lateB);
    const all = [...base, ...lateA, ...lateB].map((e) => e.id);

    // The reader is inside the compacted file when compaction replaces it (merging late-a and late-b).
    const reader = readArchiveRange(env.ARCHIVE, ws, T0, T0 + HOUR, ['id', 'user_id']);
    const ids = await nextIds(reader);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(base.length);
    const [merged] = await compactAll(ws, [T0]);
    expect(merged!.merged).toBe(2);
    for (let r = await reader.next(); !r.done; r = await reader.next()) ids.push(...r.value.map((x) => x.id!));
    expect(ids).toHaveLength(all.length);
    expect(sorted(ids)).toEqual(sorted(all));

    // The reader is in the parts of an hour without a compacted file when compaction merges them.
    const ws2 = newWorkspace();
    const events = realisticEvents(900, T0, HOUR, 14);
    await drainInParts(ws2, events, 3);
    const r2 = readArchiveRange(env.ARCHIVE, ws2, T0, T0 + HOUR, ['id']);
    const got = await nextIds(r2);
    await compactAll(ws2, [T0]);
    for (let r = await r2.next(); !r.done; r = await r2.next()) got.push(...r.value.map((x) => x.id!));
    expect(sorted(got)).toEqual(sorted(events.map((e) => e.id)));
  });
});

describe('the archive cron', () => {
  it('retention deletes whole date partitions older than retentionDays and keeps the rest; counts R2 operations', async () => {
    const ws = await createWorkspace('ret', { retentionDays: 5 });
    const now = Date.now();
    const old = now - 10 * DAY;
    const edge = now - 6 * DAY; // its whole UTC date is past 5 days
    const kept = now - 4 * DAY;
    for (const [name, ts] of [['a', old], ['b', old + HOUR], ['c', edge], ['d', kept], ['e', now - HOUR]] as const) {
      await writeArchiveBatch(env.ARCHIVE, ws.id, name, realisticEvents(5, ts - (ts % HOUR), 1000, 1));
    }
    const result = await runArchiveJobs(env.ARCHIVE, env.DB, now);
    expect(result.complete).toBe(true);
    expect(result.partitionsExpired).toBeGreaterThanOrEqual(2);
    expect(result.ops.list).toBeGreaterThan(0);
    expect(result.ops.delete).toBeGreaterThan(0);
    const left = await keysUnder(workspacePrefix(ws.id));
    const dates = [...new Set(left.map((k) => /date=([^/]+)/.exec(k)![1]))];
    expect(dates).toEqual([...new Set([kept, now - HOUR].map((t) => new Date(t - (t % HOUR)).toISOString().slice(0, 10)))].sort());
    expect(left.every((k) => !k.includes(new Date(old).toISOString().slice(0, 10)) && !k.includes(new Date(edge).toISOString().slice(0, 10)))).toBe(true);
  });

  it('compacts closed hours of every workspace, resumably, within its budget', async () => {
    const ws = await createWorkspace('cmp');
    const events = realisticEvents(200, T0, 3 * HOUR, 15);
    await drainInParts(ws.id, events, 3);
    // No time at all: stops after the first hour and keeps its place in job_state.
    const cut = await runArchiveJobs(env.ARCHIVE, env.DB, Date.now(), 0);
    expect(cut.complete).toBe(false);
    let result = cut;
    for (let i = 0; i < 20 && !result.complete; i++) result = await runArchiveJobs(env.ARCHIVE, env.DB);
    expect(result.complete).toBe(true);
    const hours = [T0, T0 + HOUR, T0 + 2 * HOUR].map(async (h) => (await listArchiveHour(env.ARCHIVE, ws.id, h)).compacted !== null);
    expect(await Promise.all(hours)).toEqual([true, true, true]);
    expect(sorted(await readRange(ws.id, T0, T0 + 3 * HOUR))).toEqual(sorted(events.map((e) => e.id)));
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM job_state WHERE name = 'archive-compaction'`).first('n')).toBe(0);
  });

  it("a deleted workspace's archive objects go: in the background, and the cron finishes what is left", async () => {
    const ws = await createWorkspace('del');
    await drainInParts(ws.id, realisticEvents(60, T0, 2 * HOUR, 16), 3);
    const res = await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() });
    expect(res.status).toBe(204);
    for (let i = 0; i < 100 && (await keysUnder(workspacePrefix(ws.id))).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await keysUnder(workspacePrefix(ws.id))).toEqual([]);

    // Over a thousand objects, left to the cron (the marker a deletion leaves), a page of 1,000 keys a call.
    const big = newWorkspace();
    const body = new Uint8Array(8);
    for (let i = 0; i < 1005; i += 201) {
      await Promise.all(Array.from({ length: 201 }, (_, j) => env.ARCHIVE.put(`${hourPrefix(big, T0 + ((i + j) % 48) * HOUR)}p${i + j}.parquet`, body)));
    }
    await env.DB.prepare(`INSERT INTO job_state (name, state, updated_at) VALUES (?1, '{}', 0)`).bind(`archive-delete:${big}`).run();
    const cut = await runArchiveJobs(env.ARCHIVE, env.DB, Date.now(), 0);
    expect(cut.complete).toBe(false);
    const result = await runArchiveJobs(env.ARCHIVE, env.DB);
    expect(result.workspacesErased).toBe(1);
    expect(cut.objectsDeleted + result.objectsDeleted).toBeGreaterThanOrEqual(1005);
    expect(await keysUnder(workspacePrefix(big))).toEqual([]);
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM job_state WHERE name LIKE 'archive-delete:%'`).first('n')).toBe(0);
  });
});
