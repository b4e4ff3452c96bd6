import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeArchiveFile } from '../../src/archive/parquet-write';
import { writeArchiveBatch } from '../../src/archive/store';
import type { NormalizedEvent } from '../../src/ingest/types';
import { extremeEvents, realisticEvents } from '../archive-events';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 28, 22, 0, 0);

let dir: string;
let db: DuckDBConnection;
const sent: { workspace: string; event: NormalizedEvent }[] = [];

/** The archive writer's bucket, as files under `dir` (the layout local R2 and a bucket mount give). */
const diskBucket = () => ({
  async put(key: string, body: Uint8Array) {
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    return null;
  },
}) as unknown as Pick<R2Bucket, 'put'>;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const glob = () => `read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true)`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgepulse-archive-'));
  // Two workspaces, several drains each, spanning a UTC day boundary; plus the extreme events.
  const drains: [string, string, NormalizedEvent[]][] = [
    ['ws-a', 'drain-1', realisticEvents(6000, T0, 3 * HOUR, 1)],
    ['ws-a', 'drain-2', realisticEvents(4000, T0 + HOUR, 2 * HOUR, 2)],
    ['ws-b', 'drain-1', realisticEvents(3000, T0, 4 * HOUR, 3)],
    ['ws-b', 'drain-x', extremeEvents(T0 + 30 * 60_000)],
  ];
  for (const [workspace, drainId, events] of drains) {
    await writeArchiveBatch(diskBucket(), workspace, drainId, events);
    for (const event of events) sent.push({ workspace, event });
  }
  // A retry of a drain rewrites its files: nothing counted twice.
  await writeArchiveBatch(diskBucket(), 'ws-a', 'drain-1', drains[0]![2]);
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(async () => {
  db?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DuckDB reads the archive as a user would', () => {
  it('count, sum(value), distinct users and per-type counts equal brute force over the events', async () => {
    const [totals] = await rows(`SELECT count(*)::INTEGER AS n, sum(value) AS value, count(DISTINCT user_id)::INTEGER AS users FROM ${glob()}`);
    expect(totals!.n).toBe(sent.length);
    // The sum passes through ±1e15 (the bounds), where a double's step is 0.125: compare within a few steps.
    expect(Math.abs((totals!.value as number) - sent.reduce((s, { event }) => s + (event.value ?? 0), 0))).toBeLessThanOrEqual(0.5);
    expect(totals!.users).toBe(new Set(sent.map(({ event }) => event.userId).filter((u) => u !== null)).size);

    const byType = await rows(`SELECT type, count(*)::INTEGER AS n FROM ${glob()} GROUP BY type ORDER BY type`);
    const expected = new Map<string, number>();
    for (const { event } of sent) expected.set(event.type, (expected.get(event.type) ?? 0) + 1);
    expect(Object.fromEntries(byType.map((r) => [r.type, r.n]))).toEqual(Object.fromEntries(expected));
  });

  it('ts and received_at are UTC timestamps holding the events’ milliseconds', async () => {
    const [t] = await rows(`SELECT any_value(typeof(ts)) AS ts, any_value(typeof(received_at)) AS rec, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi FROM ${glob()}`);
    // A TIMESTAMP(MILLIS, isAdjustedToUTC) column: DuckDB's TIMESTAMP WITH TIME ZONE.
    expect(t!.ts).toBe('TIMESTAMP WITH TIME ZONE');
    expect(t!.rec).toBe('TIMESTAMP WITH TIME ZONE');
    expect(Number(t!.lo)).toBe(Math.min(...sent.map(({ event }) => event.ts)));
    expect(Number(t!.hi)).toBe(Math.max(...sent.map(({ event }) => event.ts)));
    const [full] = await rows(`SELECT epoch_ms(ts) AS ts, bytes_in, duration_ms, value, user_id, json_extract_string(properties, '$.s') AS s,
      json_extract(gauges, '$.neg')::DOUBLE AS neg, country, connection_type FROM ${glob()} WHERE id = 'full_1'`);
    const event = sent.find(({ event }) => event.id === 'full_1')!.event;
    expect(full).toEqual({
      ts: BigInt(event.ts), bytes_in: BigInt(2 ** 53 - 1), duration_ms: 1e10, value: 1e15, user_id: 'ユーザー👩‍💻', s: 'ß😀',
      neg: -1e15, country: 'DE', connection_type: 'turn',
    });
  });

  it('hive partitioning gives workspace, date and hour columns matching each event’s UTC hour', async () => {
    const got = await rows(`SELECT workspace, strftime(date::DATE, '%Y-%m-%d') AS date, hour::INTEGER AS hour, count(*)::INTEGER AS n,
      count(*) FILTER (WHERE date_trunc('hour', ts AT TIME ZONE 'UTC') <> (date::DATE + hour::INTEGER * INTERVAL 1 HOUR))::INTEGER AS misplaced
      FROM ${glob()} GROUP BY ALL ORDER BY ALL`);
    const expected = new Map<string, number>();
    for (const { workspace, event } of sent) {
      const iso = new Date(event.ts).toISOString();
      const k = `${workspace}|${iso.slice(0, 10)}|${Number(iso.slice(11, 13))}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(got.map((r) => [`${r.workspace}|${r.date}|${r.hour}`, r.n]))).toEqual(Object.fromEntries(expected));
    expect(got.every((r) => r.misplaced === 0)).toBe(true);
  });

  it('writes row groups of 10,000 rows with ts statistics, sorted by ts', async () => {
    const events = realisticEvents(25_000, T0, HOUR, 9);
    const path = join(dir, 'one.parquet');
    await writeFile(path, encodeArchiveFile(events));
    const groups = await rows(`SELECT row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS n, stats_min_value AS lo, stats_max_value AS hi, compression
      FROM parquet_metadata('${path}') WHERE path_in_schema = 'ts' ORDER BY g`);
    expect(groups.map((g) => g.n)).toEqual([10_000, 10_000, 5_000]);
    expect(groups.every((g) => g.compression === 'SNAPPY' && g.lo !== null && g.hi !== null)).toBe(true);
    const [sorted] = await rows(`SELECT bool_and(ts >= prev)::BOOLEAN AS ok FROM (SELECT ts, lag(ts, 1, ts) OVER () AS prev FROM '${path}')`);
    expect(sorted!.ok).toBe(true);
  });

  it('measures R2 bytes per event: 100,000 realistic events in one hour file', async () => {
    const events = realisticEvents(100_000, T0, HOUR, 42);
    const sizes: Record<string, number> = {};
    for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
      const path = join(dir, `bench-${codec}.parquet`);
      await writeFile(path, encodeArchiveFile(events, { codec }));
      sizes[codec] = (await stat(path)).size;
      const [c] = await rows(`SELECT count(*)::INTEGER AS n FROM '${path}'`);
      expect(c!.n).toBe(100_000);
    }
    const perEvent = (bytes: number) => Math.round((bytes / events.length) * 10) / 10;
    console.log(`archive bytes per event (100,000 events, 20,000 users, 10 types, 50 rooms): SNAPPY ${perEvent(sizes.SNAPPY!)}, UNCOMPRESSED ${perEvent(sizes.UNCOMPRESSED!)}`);
    expect(sizes.SNAPPY! / events.length).toBeLessThanOrEqual(80);
  });
});
