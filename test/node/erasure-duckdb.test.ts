import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseUserFromObject } from '../../src/archive/erase';
import { writeArchiveBatch, type ArchiveBucket } from '../../src/archive/store';
import type { NormalizedEvent } from '../../src/ingest/types';
import { extremeEvents, realisticEvents } from '../archive-events';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 28, 22, 0, 0);

let dir: string;
let db: DuckDBConnection;
let sent: NormalizedEvent[] = [];

interface Stored { body: Uint8Array; etag: string; customMetadata?: Record<string, string>; httpMetadata?: R2HTTPMetadata }

/**
 * An R2 bucket as files under `dir` (what DuckDB reads), with the parts of R2 an erasure relies on:
 * ranged and etag-conditional gets, etag-conditional puts, list in key order.
 */
function diskBucket(): ArchiveBucket {
  const objects = new Map<string, Stored>();
  let version = 0;
  const meta = (key: string, o: Stored) => ({ key, size: o.body.byteLength, etag: o.etag, customMetadata: o.customMetadata, httpMetadata: o.httpMetadata, uploaded: new Date() });
  return {
    async head(key: string) {
      const o = objects.get(key);
      return o ? meta(key, o) : null;
    },
    async get(key: string, options?: R2GetOptions) {
      const o = objects.get(key);
      if (!o) return null;
      const onlyIf = options?.onlyIf as R2Conditional | undefined;
      if (onlyIf?.etagMatches && onlyIf.etagMatches !== o.etag) return meta(key, o);
      const range = options?.range as { offset: number; length: number } | undefined;
      const bytes = range ? o.body.slice(range.offset, range.offset + range.length) : o.body;
      return { ...meta(key, o), body: true, arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
    },
    async put(key: string, body: Uint8Array, options?: R2PutOptions) {
      const onlyIf = options?.onlyIf as R2Conditional | undefined;
      if (onlyIf?.etagMatches && objects.get(key)?.etag !== onlyIf.etagMatches) return null;
      const o: Stored = { body, etag: `v${++version}`, customMetadata: options?.customMetadata as Record<string, string>, httpMetadata: options?.httpMetadata as R2HTTPMetadata };
      objects.set(key, o);
      const path = join(dir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
      return meta(key, o);
    },
    async list(options?: R2ListOptions) {
      const keys = [...objects.keys()].filter((k) => k.startsWith(options?.prefix ?? '')).sort();
      return { objects: keys.map((k) => meta(k, objects.get(k)!)), truncated: false, delimitedPrefixes: [] };
    },
    async delete() {},
  } as unknown as ArchiveBucket;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}
const glob = () => `read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true)`;

/** The user with the most events: the one erased. */
const busiest = (events: NormalizedEvent[]) => {
  const counts = new Map<string, number>();
  for (const e of events) if (e.userId) counts.set(e.userId, (counts.get(e.userId) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
};

let bucket: ArchiveBucket;
let user: string;
let removed = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgepulse-erasure-'));
  bucket = diskBucket();
  const drains: [string, NormalizedEvent[]][] = [
    ['drain-1', realisticEvents(6000, T0, 3 * HOUR, 11)],
    ['drain-2', realisticEvents(3000, T0 + HOUR, 2 * HOUR, 12)],
    ['drain-x', extremeEvents(T0 + 30 * 60_000)],
  ];
  user = busiest(drains[0]![1]);
  // A part holding only the user: it is left as an empty file.
  drains.push(['solo', drains[0]![1].filter((e) => e.userId === user).slice(0, 3).map((e) => ({ ...e, id: `solo-${e.id}` }))]);
  for (const [drainId, events] of drains) {
    await writeArchiveBatch(bucket, 'ws-a', drainId, events, { rowGroupRows: 1000 });
    sent.push(...events);
  }
  db = await (await DuckDBInstance.create(':memory:')).connect();
  for (const object of (await bucket.list({ prefix: 'events/' })).objects) {
    const result = await eraseUserFromObject(bucket, object.key, user);
    if (result.outcome === 'rewritten') removed += result.removed;
  }
});

afterAll(async () => {
  db?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DuckDB reads the archive after an erasure', () => {
  it('finds none of the user’s rows, and every other row as brute force over the events sent', async () => {
    const kept = sent.filter((e) => e.userId !== user);
    expect(removed).toBe(sent.length - kept.length);
    expect(removed).toBeGreaterThan(5);
    const [gone] = await rows(`SELECT count(*)::INTEGER AS n FROM ${glob()} WHERE user_id = '${user}'`);
    expect(gone!.n).toBe(0);
    const [totals] = await rows(`SELECT count(*)::INTEGER AS n, count(DISTINCT user_id)::INTEGER AS users, count(DISTINCT id)::INTEGER AS ids FROM ${glob()}`);
    expect(totals!.n).toBe(kept.length);
    expect(totals!.ids).toBe(kept.length);
    // Every value exactly (a sum would differ by float rounding: the extreme events hold ±1e15).
    const values = await rows(`SELECT id, value FROM ${glob()}`);
    expect(Object.fromEntries(values.map((v) => [v.id, v.value]))).toEqual(Object.fromEntries(kept.map((e) => [e.id, e.value])));
    expect(totals!.users).toBe(new Set(kept.map((e) => e.userId).filter((u) => u !== null)).size);
    const types = await rows(`SELECT type, count(*)::INTEGER AS n FROM ${glob()} GROUP BY type`);
    const expected = new Map<string, number>();
    for (const e of kept) expected.set(e.type, (expected.get(e.type) ?? 0) + 1);
    expect(Object.fromEntries(types.map((t) => [t.type, t.n]))).toEqual(Object.fromEntries(expected));
    // Row for row, the kept events are unchanged (times, numbers, JSON text).
    const sample = kept.filter((e) => e.bytesIn !== null && e.durationMs !== null)[0]!;
    const [row] = await rows(`SELECT epoch_ms(ts) AS ts, epoch_ms(received_at) AS received_at, bytes_in, duration_ms, properties FROM ${glob()} WHERE id = '${sample.id}'`);
    expect(row).toMatchObject({ ts: BigInt(sample.ts), received_at: BigInt(sample.receivedAt), bytes_in: BigInt(sample.bytesIn!), duration_ms: sample.durationMs });
    expect(JSON.parse(row!.properties as string)).toEqual(sample.properties);
  });

  it('reads a file left with no rows as empty', async () => {
    const solo = await rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${dir}/events/**/solo.parquet')`);
    expect(solo[0]!.n).toBe(0);
  });
});
