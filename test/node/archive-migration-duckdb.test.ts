import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchiveBatch } from '../../src/archive/store';
import { migratedPartName, rawRowToEvent } from '../../src/history/archive-migration';
import type { NormalizedEvent } from '../../src/ingest/types';
import { extremeEvents, realisticEvents } from '../archive-events';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 9, 30, 22, 0, 0);
const CHUNK = 700;

let dir: string;
let db: DuckDBConnection;
/** The D1 raw table as the drains before the archive left it: context and properties as JSON text, no gauges. */
const table: { rowid: number; workspace: string; event: NormalizedEvent }[] = [];

const diskBucket = () => ({
  async put(key: string, body: Uint8Array) {
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    return null;
  },
}) as unknown as Pick<R2Bucket, 'put'>;

const asD1Row = (e: NormalizedEvent) => ({
  ts: e.ts, id: e.id, type: e.type, received_at: e.receivedAt, user_id: e.userId, session_id: e.sessionId, room: e.room,
  duration_ms: e.durationMs, bytes_in: e.bytesIn, bytes_out: e.bytesOut, error: e.error, value: e.value,
  properties: JSON.stringify(e.properties), context: JSON.stringify(e.context),
});

/** One migration chunk as the job writes it: the rows' events, per workspace, under the chunk's part name. */
async function writeChunk(rows: typeof table): Promise<void> {
  const part = migratedPartName(rows[0]!.rowid, rows.at(-1)!.rowid);
  const byWorkspace = new Map<string, NormalizedEvent[]>();
  for (const r of rows) byWorkspace.set(r.workspace, [...(byWorkspace.get(r.workspace) ?? []), rawRowToEvent(asD1Row(r.event))]);
  for (const [ws, events] of byWorkspace) await writeArchiveBatch(diskBucket(), ws, part, events);
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}
const glob = () => `read_parquet('${dir}/events/**/*.parquet', hive_partitioning = true)`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgepulse-migration-'));
  const seeded: [string, NormalizedEvent[]][] = [
    ['ws-a', realisticEvents(2500, T0, 4 * HOUR, 5)],
    ['ws-b', realisticEvents(1200, T0 + HOUR, 2 * HOUR, 6)],
    ['ws-a', extremeEvents(T0 + 10 * 60_000)],
  ];
  let rowid = 0;
  for (const [workspace, events] of seeded) for (const event of events) table.push({ rowid: ++rowid, workspace, event });
  const chunks: (typeof table)[] = [];
  for (let i = 0; i < table.length; i += CHUNK) chunks.push(table.slice(i, i + CHUNK));
  for (const chunk of chunks) await writeChunk(chunk);
  // A crash after the puts of the second chunk: the rerun writes it again under the same names.
  await writeChunk(chunks[1]!);
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

afterAll(async () => {
  db?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DuckDB reads the migrated archive', () => {
  it('every table row once; the context dimensions in their own columns, the rest of context as JSON, gauges null', async () => {
    const [totals] = await rows(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, sum(value) AS value,
      count(DISTINCT user_id)::INTEGER AS users, count(gauges)::INTEGER AS gauges FROM ${glob()}`);
    const events = table.map((r) => r.event);
    expect(totals!.n).toBe(table.length);
    expect(totals!.ids).toBe(table.length);
    // Summed in another order (DuckDB sums in parallel) next to values of ±1e15: equal within a few roundings at that magnitude.
    const magnitude = events.reduce((s, e) => s + Math.abs(e.value ?? 0), 0);
    expect(Math.abs((totals!.value as number) - events.reduce((s, e) => s + (e.value ?? 0), 0))).toBeLessThanOrEqual(8 * Number.EPSILON * magnitude);
    expect(totals!.users).toBe(new Set(events.map((e) => e.userId).filter((u) => u !== null)).size);
    expect(totals!.gauges).toBe(0);

    const byCountry = await rows(`SELECT workspace, country, count(*)::INTEGER AS n FROM ${glob()} GROUP BY ALL ORDER BY ALL`);
    const expected = new Map<string, number>();
    for (const r of table) {
      const k = `${r.workspace}|${r.event.context.country ?? null}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(new Map(byCountry.map((r) => [`${r.workspace}|${r.country}`, r.n]))).toEqual(expected);

    const one = table.find((r) => r.event.id === 'full_1')!.event;
    const [row] = await rows(`SELECT platform, os, browser, device, connection_type, context, properties FROM ${glob()} WHERE id = 'full_1'`);
    expect(row).toMatchObject({
      platform: one.context.platform, os: one.context.os, browser: one.context.browser, device: one.context.device, connection_type: one.context.connectionType,
    });
    expect(JSON.parse(row!.context as string)).toEqual({ sdk: one.context.sdk, url: one.context.url, referrer: one.context.referrer, userAgent: one.context.userAgent });
    expect(JSON.parse(row!.properties as string)).toEqual(one.properties);
  });

  it('each file sits in the hour partition of its rows, named after its chunk', async () => {
    const wrong = await rows(`SELECT count(*)::INTEGER AS n FROM ${glob()}
      WHERE strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d') <> CAST(date AS VARCHAR) OR CAST(strftime(ts AT TIME ZONE 'UTC', '%H') AS INTEGER) <> CAST(hour AS INTEGER)`);
    expect(wrong[0]!.n).toBe(0);
    const files = await rows(`SELECT DISTINCT regexp_extract(filename, '[^/]+$') AS part FROM read_parquet('${dir}/events/**/*.parquet', filename = true)`);
    expect(files.map((f) => f.part).every((p) => /^migrated-\d+-\d+\.parquet$/.test(String(p)))).toBe(true);
    expect(files.length).toBe(Math.ceil(table.length / CHUNK));
  });
});
