import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLocalArchive } from './local-archive';
import { createWorkspace, startDevServer, type DevServer } from './server';

// 20,000 events from 8 clients that retry until acknowledged, while wrangler dev and its workerd
// child are SIGKILLed twice: every acknowledged event must end up in the archive exactly once (checked with DuckDB).
const CLIENTS = 8;
const TOTAL = 20_000;
const PER_CLIENT = TOTAL / CLIENTS;
const BATCH_SIZES = [1, 1, 1, 3, 10, 25, 50, 100, 200];
const SLUG = 'crash';

let server: DevServer;
let persistDir: string;
let ingestKey: string;
let readKey: string;

beforeAll(async () => {
  persistDir = mkdtempSync(join(tmpdir(), 'edgepulse-crash-'));
  server = await startDevServer({ persistDir });
  ({ ingest: ingestKey, read: readKey } = (await createWorkspace(server, SLUG)).keys);
});

afterAll(async () => {
  await server?.stop();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Progress {
  acked: Set<string>;
  attempts: number;
  retries: number;
  duplicates: number;
}

/** Sends one batch until it is answered 202; network errors and 5xx are retried with the same ids. */
async function sendUntilAcked(ids: string[], p: Progress): Promise<void> {
  const body = JSON.stringify(ids.length === 1 ? { id: ids[0], type: 'crash.single' } : { events: ids.map((id) => ({ id, type: 'crash.batch', userId: `u${id.length % 5}` })) });
  for (;;) {
    p.attempts++;
    let status = 0;
    let text = '';
    let retryAfter = 0;
    try {
      const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      text = await res.text();
      retryAfter = Number(res.headers.get('retry-after') ?? 0);
    } catch {
      status = 0; // connection refused or reset: the server is down or going down
    }
    if (status === 202) {
      const { accepted, duplicates } = JSON.parse(text) as { accepted: number; duplicates: number };
      expect(accepted + duplicates).toBe(ids.length);
      p.duplicates += duplicates;
      for (const id of ids) p.acked.add(id);
      return;
    }
    // Over the workspace's rate limit (resent batches count too): wait as told, like the SDK does; nothing was stored.
    if (status === 429) {
      p.retries++;
      await sleep(retryAfter * 1000 + Math.random() * 200);
      continue;
    }
    if (status !== 0 && status < 500) throw new Error(`batch rejected with ${status}: ${text}`);
    p.retries++;
    await sleep(50 + Math.random() * 150);
  }
}

async function client(n: number, p: Progress): Promise<void> {
  let next = 0;
  while (next < PER_CLIENT) {
    const size = Math.min(BATCH_SIZES[Math.floor(Math.random() * BATCH_SIZES.length)], PER_CLIENT - next);
    const ids = Array.from({ length: size }, (_, i) => `c${n}-${next + i}`);
    next += size;
    await sendUntilAcked(ids, p);
  }
}

/** Kills the server group at two random points of the run (by acknowledged share, plus jitter) and restarts it. */
async function crasher(p: Progress, done: () => boolean): Promise<number> {
  const points = [0.1 + Math.random() * 0.25, 0.5 + Math.random() * 0.25];
  let kills = 0;
  for (const point of points) {
    while (!done() && p.acked.size < point * TOTAL) await sleep(5);
    if (done()) break;
    await sleep(Math.random() * 50);
    server.kill();
    kills++;
    await server.restart();
  }
  return kills;
}

/** Pages through GET …/events (limit 1000, cursor) and returns every id, in order. */
/** Whether the workspace's hub holds no undrained batch (`edgepulse_outbox_batches 0` in …/metrics). */
async function outboxEmpty(): Promise<boolean> {
  const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/metrics`, { headers: { authorization: `Bearer ${readKey}` } });
  return res.ok && /^edgepulse_outbox_batches 0$/m.test(await res.text());
}

async function readAll(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${server.url}/api/v1/workspaces/${SLUG}/events?${qs}`, { headers: { authorization: `Bearer ${readKey}` } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { events: Array<{ id: string }>; nextCursor: string | null };
    ids.push(...page.events.map((e) => e.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

function d1Query(sql: string): Array<Record<string, number | string>> {
  const out = spawnSync(
    process.execPath,
    [new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url).pathname, 'd1', 'execute', 'DB', '--local', '--persist-to', persistDir, '--json', '--command', sql],
    { encoding: 'utf8', env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' }, maxBuffer: 64 * 1024 * 1024 },
  );
  if (out.status !== 0) throw new Error(`d1 execute failed:\n${out.stdout}\n${out.stderr}`);
  return (JSON.parse(out.stdout) as Array<{ results: Array<Record<string, number | string>> }>)[0].results;
}

describe('crash safety under wrangler dev', () => {
  it('keeps every acknowledged event exactly once across two SIGKILLs', async () => {
    const p: Progress = { acked: new Set(), attempts: 0, retries: 0, duplicates: 0 };
    let finished = false;
    const started = Date.now();
    const kills = crasher(p, () => finished);
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n, p)));
    finished = true;
    expect(await kills).toBe(2);
    expect(p.acked.size).toBe(TOTAL);
    const sendMs = Date.now() - started;

    // Every acknowledged event reaches history: page through GET …/events until all are there.
    let ids: string[] = [];
    const deadline = Date.now() + 30_000;
    do {
      ids = await readAll();
      if (ids.length < TOTAL) await sleep(500);
    } while (ids.length < TOTAL && Date.now() < deadline);
    const unique = new Set(ids);
    const missing = [...p.acked].filter((id) => !unique.has(id));
    expect(missing.slice(0, 10), `${missing.length} acknowledged ids missing`).toEqual([]);
    expect(ids.length, 'duplicates in GET …/events').toBe(unique.size);
    expect(unique.size).toBe(TOTAL);

    // GET …/events also lists the hub's not-yet-drained outbox: wait until the drain has moved it all
    // into the archive (the outbox gauge of /metrics at 0) before stopping the server.
    const drainedBy = Date.now() + 60_000;
    while (!(await outboxEmpty()) && Date.now() < drainedBy) await sleep(500);

    // And in the archive itself, copied out of the on-disk bucket after the server is gone and read
    // with DuckDB as a user would: each acknowledged id in exactly one file, once.
    await server.stop();
    const [{ id: workspaceId }] = d1Query(`SELECT id FROM workspaces WHERE slug = '${SLUG}'`);
    const archiveDir = mkdtempSync(join(tmpdir(), 'edgepulse-crash-archive-'));
    try {
      expect(await copyLocalArchive(persistDir, archiveDir)).toBeGreaterThan(0);
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      try {
        const files = `read_parquet('${archiveDir}/events/workspace=${workspaceId}/**/*.parquet', hive_partitioning = true)`;
        const [counts] = (await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM ${files}`)).getRowObjectsJS();
        expect(counts).toEqual({ n: TOTAL, d: TOTAL });
        const ids = (await duck.runAndReadAll(`SELECT id FROM ${files}`)).getRowObjectsJS().map((r) => String(r.id));
        const inArchive = new Set(ids);
        expect([...p.acked].filter((id) => !inArchive.has(id)).slice(0, 10)).toEqual([]);
      } finally {
        duck.closeSync();
      }
    } finally {
      rmSync(archiveDir, { recursive: true, force: true });
    }
    console.log(
      `crash test: ${TOTAL} events acknowledged in ${(sendMs / 1000).toFixed(1)} s with 2 SIGKILLs; ${p.attempts} requests, ` +
        `${p.retries} retried, ${p.duplicates} events answered as duplicates of a write whose answer was lost`,
    );
  });
});
