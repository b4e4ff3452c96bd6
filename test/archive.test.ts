import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { archiveKeys, keyHour, partKey } from '../src/archive/layout';
import { readArchiveEvents, readArchiveFile } from '../src/archive/parquet-read';
import { listArchiveParts, writeArchiveBatch } from '../src/archive/store';
import { readArchiveRange } from '../src/archive/read-range';
import type { NormalizedEvent } from '../src/ingest/types';
import { extremeEvents, realisticEvents } from './archive-events';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 28, 22, 0, 0); // 22:00 UTC: a day boundary two hours on
let wsSeq = 0;
const newWorkspace = () => `ws-archive-${Date.now().toString(36)}-${++wsSeq}`;

/** The binding, counting the calls and the bytes the reader pulls. */
function countingBucket(bucket: R2Bucket) {
  const counts = { get: 0, getBytes: 0, list: 0, put: 0, head: 0 };
  const wrapped = {
    async get(key: string, options?: R2GetOptions) {
      counts.get++;
      const object = await bucket.get(key, options);
      const range = options?.range as { length?: number } | undefined;
      if (object) counts.getBytes += range?.length ?? object.size;
      return object;
    },
    head: (key: string) => (counts.head++, bucket.head(key)),
    list: (options?: R2ListOptions) => (counts.list++, bucket.list(options)),
    put: (...args: Parameters<R2Bucket['put']>) => (counts.put++, bucket.put(...args)),
    delete: (keys: string | string[]) => bucket.delete(keys),
  };
  return { bucket: wrapped, counts };
}

async function readAll(bucket: Pick<R2Bucket, 'get' | 'head'>, key: string, options: { from?: number; to?: number } = {}): Promise<NormalizedEvent[]> {
  const out: NormalizedEvent[] = [];
  for await (const rows of readArchiveEvents(bucket, key, options)) out.push(...rows);
  return out;
}

const byTsThenId = (a: NormalizedEvent, b: NormalizedEvent) => a.ts - b.ts || (a.id < b.id ? -1 : 1);

describe('archive keys', () => {
  it('splits a drain by UTC hour into Hive keys named after the drain', () => {
    const events = [
      { ...extremeEvents(T0)[0]!, id: 'a', ts: T0 + 5 },
      { ...extremeEvents(T0)[0]!, id: 'b', ts: T0 + 2 * HOUR + 1 }, // next UTC day
      { ...extremeEvents(T0)[0]!, id: 'c', ts: T0 + 10 },
    ];
    const keys = archiveKeys('w1', 'drain-7', events);
    expect([...keys.keys()]).toEqual([
      'events/workspace=w1/date=2026-11-28/hour=22/drain-7.parquet',
      'events/workspace=w1/date=2026-11-29/hour=00/drain-7.parquet',
    ]);
    expect(keys.get('events/workspace=w1/date=2026-11-28/hour=22/drain-7.parquet')!.map((e) => e.id)).toEqual(['a', 'c']);
    expect(keyHour('events/workspace=w1/date=2026-11-29/hour=00/drain-7.parquet')).toBe(T0 + 2 * HOUR);
    expect(() => partKey('w1', T0, 'bad/part')).toThrow();
  });
});

describe('archive in R2 (local binding)', () => {
  it('round-trips every field: nulls, unicode, JSON columns, the API bounds', async () => {
    const ws = newWorkspace();
    const events = extremeEvents(T0);
    const written = await writeArchiveBatch(env.ARCHIVE, ws, 'drain-1', events);
    expect(written).toHaveLength(1);
    const back = await readAll(env.ARCHIVE, written[0]!.key);
    expect(back).toEqual([...events].sort(byTsThenId));
    const full = back.find((e) => e.id === 'full_1')!;
    expect(full.bytesIn).toBe(2 ** 53 - 1);
    expect(full.durationMs).toBe(1e10);
    expect(back.find((e) => e.id === 'min_bounds')!.value).toBe(-1e15);
    expect('gauges' in back.find((e) => e.id === 'all-null')!).toBe(false);
  });

  it('round-trips a realistic drain spanning hours, sorted by ts within each file', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(3000, T0, 3 * HOUR, 7);
    const written = await writeArchiveBatch(env.ARCHIVE, ws, 'd', events);
    expect(written.map((w) => w.hour)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
    expect(written.reduce((n, w) => n + w.events, 0)).toBe(3000);
    const back: NormalizedEvent[] = [];
    for (const part of written) {
      const rows = await readAll(env.ARCHIVE, part.key);
      expect(rows.every((e) => e.ts >= part.hour && e.ts < part.hour + HOUR)).toBe(true);
      expect(rows.map((e) => e.ts)).toEqual(rows.map((e) => e.ts).sort((a, b) => a - b));
      back.push(...rows);
    }
    expect(back.sort(byTsThenId)).toEqual([...events].sort(byTsThenId));
  });

  it('a retried drain overwrites the same objects: the object count stays, each event once', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(500, T0, 2 * HOUR, 3);
    const first = await writeArchiveBatch(env.ARCHIVE, ws, 'drain-retry', events);
    const second = await writeArchiveBatch(env.ARCHIVE, ws, 'drain-retry', [...events].reverse());
    expect(second.map((p) => p.key).sort()).toEqual(first.map((p) => p.key).sort());
    const parts = await listArchiveParts(env.ARCHIVE, ws, T0, T0 + 2 * HOUR);
    expect(parts).toHaveLength(2);
    const ids: string[] = [];
    for (const p of parts) for (const e of await readAll(env.ARCHIVE, p.key)) ids.push(e.id);
    expect(ids.sort()).toEqual(events.map((e) => e.id).sort());
    // Another drain is another part in the same partitions.
    await writeArchiveBatch(env.ARCHIVE, ws, 'drain-next', realisticEvents(10, T0, HOUR, 4));
    expect(await listArchiveParts(env.ARCHIVE, ws, T0, T0 + 2 * HOUR)).toHaveLength(3);
  });

  it('a drain whose R2 put failed part-way is retried under its id: every event once, nothing left over', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(900, T0, 3 * HOUR, 8);
    let puts = 0;
    const failing = {
      put: (...args: Parameters<R2Bucket['put']>) => (++puts === 2 ? Promise.reject(new Error('R2 down')) : env.ARCHIVE.put(...args)),
    };
    await expect(writeArchiveBatch(failing, ws, 'drain-f', events)).rejects.toThrow('R2 down');
    await writeArchiveBatch(env.ARCHIVE, ws, 'drain-f', events);
    const parts = await listArchiveParts(env.ARCHIVE, ws, T0, T0 + 3 * HOUR);
    expect(parts).toHaveLength(3);
    const ids: string[] = [];
    for (const p of parts) for (const e of await readAll(env.ARCHIVE, p.key)) ids.push(e.id);
    expect(ids.sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('lists the parts of the hours a range overlaps, across days, paged and oldest first', async () => {
    const ws = newWorkspace();
    const other = newWorkspace();
    // One event in each of 30 hours from 22:00 (crosses two UTC dates), 3 drains in hour 0.
    const hourly = Array.from({ length: 30 }, (_, h) => ({ ...extremeEvents(T0)[0]!, id: `h${h}`, ts: T0 + h * HOUR + 123 }));
    await writeArchiveBatch(env.ARCHIVE, ws, 'hourly', hourly);
    for (const d of ['x1', 'x2']) await writeArchiveBatch(env.ARCHIVE, ws, d, [hourly[0]!]);
    await writeArchiveBatch(env.ARCHIVE, other, 'hourly', hourly);

    const { bucket, counts } = countingBucket(env.ARCHIVE);
    const all = await listArchiveParts(bucket, ws, T0, T0 + 30 * HOUR);
    expect(all).toHaveLength(32);
    expect(all.every((p) => p.key.startsWith(`events/workspace=${ws}/`))).toBe(true);
    expect(all.map((p) => p.hour)).toEqual([T0, T0, T0, ...Array.from({ length: 29 }, (_, h) => T0 + (h + 1) * HOUR)]);
    expect(counts.list).toBe(3); // one per UTC date: 11-28, 11-29, 11-30

    // A range inside an hour still finds that hour; the end is exclusive.
    const mid = await listArchiveParts(env.ARCHIVE, ws, T0 + 2 * HOUR + 100, T0 + 4 * HOUR);
    expect(mid.map((p) => p.key)).toEqual([
      `events/workspace=${ws}/date=2026-11-29/hour=00/hourly.parquet`,
      `events/workspace=${ws}/date=2026-11-29/hour=01/hourly.parquet`,
    ]);
    // A part whose events (their ts span, in its listed metadata) all fall before the range is skipped unread.
    const later = await listArchiveParts(env.ARCHIVE, ws, T0 + 2 * HOUR + 1000, T0 + 4 * HOUR);
    expect(later.map((p) => p.key)).toEqual([`events/workspace=${ws}/date=2026-11-29/hour=01/hourly.parquet`]);
    expect(await listArchiveParts(env.ARCHIVE, ws, T0 - 5 * HOUR, T0)).toEqual([]);
    expect(all[5]!.size).toBeGreaterThan(0);
  });

  it('skips row groups by ts statistics: fewer ranged reads and bytes, same rows as a filter', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(5000, T0, HOUR, 11);
    const [part] = await writeArchiveBatch(env.ARCHIVE, ws, 'rg', events, { rowGroupRows: 500 });
    const size = part!.bytes;

    const whole = countingBucket(env.ARCHIVE);
    const groupsAll: number[] = [];
    for await (const g of readArchiveFile(whole.bucket, part!.key, { byteLength: size, wholeFileMaxBytes: 0 })) groupsAll.push(g.rowGroup);
    expect(groupsAll).toHaveLength(10);

    // Ten minutes in the middle of the hour: about a sixth of the rows, so 2–3 of the 10 groups.
    const from = T0 + 25 * 60_000;
    const to = T0 + 35 * 60_000;
    const ranged = countingBucket(env.ARCHIVE);
    const groups: number[] = [];
    const got: NormalizedEvent[] = [];
    for await (const g of readArchiveFile(ranged.bucket, part!.key, { byteLength: size, from, to, wholeFileMaxBytes: 0 })) groups.push(g.rowGroup);
    for await (const rows of readArchiveEvents(env.ARCHIVE, part!.key, { byteLength: size, from, to })) got.push(...rows);
    expect(groups.length).toBeGreaterThanOrEqual(1);
    expect(groups.length).toBeLessThanOrEqual(3);
    expect(ranged.counts.get).toBeLessThan(whole.counts.get);
    expect(ranged.counts.getBytes).toBeLessThan(whole.counts.getBytes / 2);
    expect(ranged.counts.head).toBe(0);
    expect(got).toEqual(events.filter((e) => e.ts >= from && e.ts < to).sort(byTsThenId));

    // A range outside the file reads the footer only.
    const none = countingBucket(env.ARCHIVE);
    for await (const g of readArchiveFile(none.bucket, part!.key, { byteLength: size, from: T0 + 2 * HOUR, to: T0 + 3 * HOUR, wholeFileMaxBytes: 0 })) groups.push(-1 - g.rowGroup);
    expect(groups.some((g) => g < 0)).toBe(false);
    expect(none.counts.get).toBe(1);
  });

  // Ranged reads (wholeFileMaxBytes: 0): a drain's small part is otherwise fetched whole in one GET.
  it('projects columns: only the columns asked for are decoded and fetched', async () => {
    const ws = newWorkspace();
    const events = realisticEvents(2000, T0, HOUR, 5);
    const [part] = await writeArchiveBatch(env.ARCHIVE, ws, 'proj', events);
    const all = countingBucket(env.ARCHIVE);
    for await (const _ of readArchiveFile(all.bucket, part!.key, { wholeFileMaxBytes: 0 })) void _;
    const some = countingBucket(env.ARCHIVE);
    const rows: Record<string, unknown>[] = [];
    for await (const g of readArchiveFile(some.bucket, part!.key, { columns: ['type', 'value'], wholeFileMaxBytes: 0 })) rows.push(...g.rows);
    expect(Object.keys(rows[0]!).sort()).toEqual(['type', 'value']);
    expect(rows.reduce((s, r) => s + ((r.value as number | null) ?? 0), 0)).toBeCloseTo(events.reduce((s, e) => s + (e.value ?? 0), 0), 6);
    expect(some.counts.getBytes).toBeLessThan(all.counts.getBytes / 2);
    // The reader heads a file when not told its size; a missing file says so.
    await expect(readAll(env.ARCHIVE, `events/workspace=${ws}/date=2026-11-28/hour=22/none.parquet`)).rejects.toThrow(/gone/);
  });

  it('streams a workspace range across parts and days: the same events as a filter, only the columns asked for', async () => {
    const ws = newWorkspace();
    const a = realisticEvents(1500, T0, 4 * HOUR, 21);
    const b = realisticEvents(700, T0 + HOUR, HOUR, 22);
    await writeArchiveBatch(env.ARCHIVE, ws, 'a', a);
    await writeArchiveBatch(env.ARCHIVE, ws, 'b', b);
    await writeArchiveBatch(env.ARCHIVE, newWorkspace(), 'a', a); // another workspace: never read
    const from = T0 + HOUR + 17 * 60_000;
    const to = T0 + 3 * HOUR + 5 * 60_000; // crosses midnight UTC
    const { bucket, counts } = countingBucket(env.ARCHIVE);
    const got: Partial<Record<string, unknown>>[] = [];
    for await (const rows of readArchiveRange(bucket, ws, from, to, ['id', 'user_id'])) got.push(...rows);
    const expected = [...a, ...b].filter((e) => e.ts >= from && e.ts < to);
    expect(got.map((r) => r.id).sort()).toEqual(expected.map((e) => e.id).sort());
    expect(Object.keys(got[0]!).sort()).toEqual(['id', 'ts', 'user_id']);
    expect(counts.list).toBe(2);
    expect(counts.head).toBe(0);
  });
});
