import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCopy, npmStart, stop, type Started } from './npm-start';
import { freePort } from './server';

// The cron runs under `npm start` by itself (here every 20 s instead of 5 minutes): retention removes
// what is older than the workspace's retentionDays without the test asking for anything but waiting.
const CRON_SECONDS = 20;
const DAY = 86_400_000;
let dir: string;
let port: number;
let running: Started | undefined;

beforeAll(async () => {
  dir = freshCopy();
  port = await freePort();
  running = await npmStart(dir, port, { EDGEPULSE_CRON_SECONDS: String(CRON_SECONDS) });
});
afterAll(async () => {
  if (running) await stop(running);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runs = () => (running!.output().match(/cron \*\/5 \* \* \* \*: ran in \d+ ms/g) ?? []).length;

/** A count straight from the local D1 file the server uses, through `wrangler d1 execute --local` (as a user would look). */
function d1Count(sql: string): number {
  const out = spawnSync(process.execPath, [join(dir, 'node_modules/wrangler/bin/wrangler.js'), 'd1', 'execute', 'DB', '--local', '--json', '--command', sql], {
    cwd: dir,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`wrangler d1 execute failed:\n${out.stdout}\n${out.stderr}`);
  return (JSON.parse(out.stdout) as Array<{ results: Array<{ n: number }> }>)[0].results[0].n;
}

describe('npm start runs the cron', () => {
  it('removes raw events older than retentionDays, and their minute rollups, at the next scheduled run', async () => {
    try {
      await retentionRuns();
    } catch (err) {
      // What the server said is the first thing to read when this fails.
      console.error(running!.output().slice(-4000));
      throw err;
    }
  });
});

async function retentionRuns(): Promise<void> {
  const api = `http://localhost:${port}/api/v1/workspaces`;
  const created = await fetch(api, {
    method: 'POST',
    headers: { authorization: `Bearer ${running!.rootToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'short', retentionDays: 1 }),
  });
  expect(created.status).toBe(201);
  const keys = ((await created.json()) as { keys: { ingest: string; read: string } }).keys;

  // Seeded right after a run, so that the state before the next one can be seen.
  const first = runs();
  while (runs() === first) await sleep(200);
  const afterRun = runs();

  const now = Date.now();
  const old = now - 3 * DAY;
  const events = [
    ...Array.from({ length: 20 }, (_, i) => ({ id: `old-${i}`, type: 'old', userId: `u${i % 3}`, timestamp: old + i * 1000 })),
    ...Array.from({ length: 5 }, (_, i) => ({ id: `new-${i}`, type: 'new', userId: 'u0', timestamp: now - 3_600_000 + i * 1000 })),
  ];
  const sent = await fetch(`${api}/short/events`, { method: 'POST', headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  expect(sent.status).toBe(202);

  const ids = async (from: number, to: number) => {
    const url = `${api}/short/events?from=${from}&to=${to}&limit=1000`;
    const init = { headers: { authorization: `Bearer ${keys.read}` } };
    // A kept-alive connection can be closed by the server while `wrangler d1 execute` runs: a GET is safe to send again.
    const res = await fetch(url, init).catch(() => fetch(url, init));
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id).sort();
  };
  const oldRange = [old - 60_000, old + 60_000] as const;
  const newRange = [now - 2 * 3_600_000, now + 60_000] as const;

  // Drained to history: the old events are there before the run.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await ids(...oldRange)).length < 20) await sleep(300);
  expect(await ids(...oldRange)).toHaveLength(20);
  const minuteRollups = (before: boolean) =>
    d1Count(`SELECT count(*) AS n FROM rollups r JOIN workspaces w ON w.id = r.workspace_id WHERE w.slug = 'short' AND r.grain = 'minute' AND r.bucket ${before ? '<' : '>='} ${now - 2 * DAY}`);
  const hourRollups = () => d1Count(`SELECT count(*) AS n FROM rollups r JOIN workspaces w ON w.id = r.workspace_id WHERE w.slug = 'short' AND r.grain = 'hour' AND r.bucket < ${now - 2 * DAY}`);
  // The event log reads the archive, written just before the drain's D1 batch: wait for the rollups too.
  while (Date.now() < deadline + 10_000 && minuteRollups(true) === 0) await sleep(300);
  expect(minuteRollups(true)).toBeGreaterThan(0);
  expect(runs(), 'the checks before the run took longer than the period').toBe(afterRun);

  // Nothing but waiting: two runs after this point (one may have begun before it).
  const seen = runs();
  const waitUntil = Date.now() + 4 * CRON_SECONDS * 1000 + 30_000;
  while (runs() < seen + 2) {
    if (Date.now() > waitUntil) throw new Error(`no scheduled run:\n${running!.output().slice(-3000)}`);
    await sleep(500);
  }
  expect(running!.output()).not.toMatch(/cron .*FAILED/);

  expect(await ids(...oldRange)).toEqual([]);
  expect(minuteRollups(true)).toBe(0);
  // Within retention, everything stays; hour rollups keep the old reports.
  expect(await ids(...newRange)).toEqual(events.slice(20).map((e) => e.id).sort());
  expect(minuteRollups(false)).toBeGreaterThan(0);
  expect(hourRollups()).toBeGreaterThan(0);
}
