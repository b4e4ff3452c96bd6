import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactHour } from '../../src/archive/compaction';
import { hourStart } from '../../src/archive/layout';
import { openArchiveHour, writeArchiveBatch, type ArchiveBucket, type ArchivePart } from '../../src/archive/store';
import type { NormalizedEvent } from '../../src/ingest/types';
import { LIMITS } from '../../src/shared/limits';
import { realisticEvents } from '../archive-events';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 22, 0, 0);

let dir: string;
let db: DuckDBConnection;
const sent: NormalizedEvent[] = [];

/** The bucket as files under `dir` (the layout a bucket copied out gives): what compaction needs of R2. */
function diskBucket(): ArchiveBucket {
  const path = (key: string) => join(dir, key);
  const etagOf = async (key: string) => {
    const s = await stat(path(key)).catch(() => null);
    return s ? `${s.mtimeMs}-${s.size}` : null;
  };
  return {
    async put(key: string, body: Uint8Array, options?: R2PutOptions) {
      const onlyIf = options?.onlyIf as R2Conditional | undefined;
      const etag = await etagOf(key);
      if (onlyIf?.etagMatches && onlyIf.etagMatches !== etag) return null;
      if (onlyIf?.etagDoesNotMatch === '*' && etag !== null) return null;
      await mkdir(dirname(path(key)), { recursive: true });
      await writeFile(path(key), body);
      return { key } as R2Object;
    },
    async get(key: string, options?: R2GetOptions) {
      const etag = await etagOf(key);
      if (etag === null) return null;
      const onlyIf = options?.onlyIf as R2Conditional | undefined;
      if (onlyIf?.etagMatches && onlyIf.etagMatches !== etag) return { key } as R2Object;
      const bytes = await readFile(path(key));
      const range = options?.range as { offset: number; length: number } | undefined;
      const slice = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
      return { key, arrayBuffer: async () => slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.byteLength) } as unknown as R2ObjectBody;
    },
    async delete(keys: string | string[]) {
      for (const key of [keys].flat()) await rm(path(key), { force: true });
    },
    head: async () => null,
    list: async () => ({ objects: [], truncated: false, delimitedPrefixes: [] }),
  } as unknown as ArchiveBucket;
}

async function hourObjects(hour: number): Promise<ArchivePart[]> {
  const hourDir = join(dir, 'events/workspace=ws-c', `date=${new Date(hour).toISOString().slice(0, 10)}`, `hour=${new Date(hour).toISOString().slice(11, 13)}`);
  const parts: ArchivePart[] = [];
  for (const name of (await readdir(hourDir)).sort()) {
    const s = await stat(join(hourDir, name));
    parts.push({ key: relative(dir, join(hourDir, name)), hour, size: s.size, etag: `${s.mtimeMs}-${s.size}`, uploaded: new Date(s.mtimeMs) });
  }
  return parts;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const glob = () => `read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true)`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgepulse-compacted-'));
  const bucket = diskBucket();
  for (let d = 0; d < 8; d++) {
    const events = realisticEvents(1500, T0, 2 * HOUR, 40 + d);
    await writeArchiveBatch(bucket, 'ws-c', `drain-${d}`, events);
    sent.push(...events);
  }
  // Merge each hour, then (past the grace period) delete the merged parts: what the cron does.
  for (const hour of [T0, T0 + HOUR]) {
    await compactHour(bucket, 'ws-c', await openArchiveHour(bucket, hour, await hourObjects(hour)), Date.now());
    const later = Date.now() + LIMITS.archivePartGraceMs + 1000;
    await compactHour(bucket, 'ws-c', await openArchiveHour(bucket, hour, await hourObjects(hour)), later);
  }
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(async () => {
  db?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DuckDB reads a compacted archive', () => {
  it('one file per hour, sorted by ts, listing what it covers; the same answers as brute force', async () => {
    expect((await hourObjects(T0)).map((p) => p.key.split('/').pop())).toEqual(['compacted.parquet']);
    const files = await rows(`SELECT file_name, count(*)::INTEGER AS n FROM ${glob().replace(')', ', filename = file_name)')} GROUP BY ALL ORDER BY ALL`);
    expect(files).toHaveLength(2);

    const [kv] = await rows(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${dir}/events/workspace=ws-c/date=2026-11-27/hour=22/compacted.parquet')`);
    expect(kv!.k).toBe('edgepulse.covers');
    expect(JSON.parse(kv!.v as string).sort()).toEqual(Array.from({ length: 8 }, (_, d) => `drain-${d}`));

    const [order] = await rows(`SELECT count(*)::INTEGER AS out_of_order FROM (
      SELECT ts < lag(ts) OVER (PARTITION BY hour ORDER BY file_row_number) AS back FROM read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true, file_row_number = true)
    ) WHERE back`);
    expect(order!.out_of_order).toBe(0);

    const [totals] = await rows(`SELECT count(*)::INTEGER AS n, sum(value) AS value, count(DISTINCT user_id)::INTEGER AS users FROM ${glob()}`);
    expect(totals!.n).toBe(sent.length);
    expect(totals!.value as number).toBeCloseTo(sent.reduce((s, e) => s + (e.value ?? 0), 0), 6);
    expect(totals!.users).toBe(new Set(sent.map((e) => e.userId)).size);
    const byHour = await rows(`SELECT epoch_ms(date_trunc('hour', ts))::BIGINT AS h, count(*)::INTEGER AS n FROM ${glob()} GROUP BY 1 ORDER BY 1`);
    const expected = new Map<number, number>();
    for (const e of sent) expected.set(hourStart(e.ts), (expected.get(hourStart(e.ts)) ?? 0) + 1);
    expect(byHour.map((r) => [Number(r.h), r.n])).toEqual([...expected].sort((a, b) => a[0] - b[0]));
  });
});
