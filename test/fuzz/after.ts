import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { runArchiveJobs } from '../../src/archive/archive-jobs';
import { LIMITS } from '../../src/shared/limits';
import { call, hub, ROOT } from '../helpers';
import { send } from './send';
import type { FuzzWorld } from './requests';

const DIMENSIONS = ['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os', 'error', 'property:plan', 'property:__proto__'];
const GRANULARITIES: Array<[string, string]> = [['minute', '24h'], ['hour', '7d'], ['day', '90d'], ['week', '90d'], ['month', '90d']];

/** Every report of a workspace, as the dashboard and an operator would ask for them. */
function reportPaths(slug: string): string[] {
  const w = `/api/v1/workspaces/${slug}`;
  return [
    `${w}/stats/summary?range=90d`, `${w}/stats/summary?range=today&compare=previous`,
    ...GRANULARITIES.map(([g, range]) => `${w}/stats/timeseries?range=${range}&granularity=${g}&metrics=events,users,sessions,errors,errorRate,bytesIn,bytesOut,value,durationAvg,durationP50,durationP95,durationP99`),
    ...DIMENSIONS.map((by) => `${w}/stats/breakdown?range=90d&by=${encodeURIComponent(by)}`),
    `${w}/users?range=90d`, `${w}/users?range=90d&sort=lastSeen`, `${w}/users/u1?range=90d`, `${w}/sessions?range=90d`, `${w}/rooms?range=90d`,
    `${w}/events?limit=1000`, `${w}/events?errorsOnly=1`, `${w}/export?range=90d&format=csv`, `${w}/export?range=90d&format=ndjson`,
    `${w}/metrics`, `${w}/live`, `${w}/rooms/standup/live`,
  ];
}

/**
 * Drains every hub and runs the cron's archive jobs until done (closed hours compacted), logging how
 * many archive objects there were: raw questions then open one file per hour, as in steady state.
 */
export async function settleHistory(): Promise<void> {
  const { results } = await env.DB.prepare('SELECT id FROM workspaces').all<{ id: string }>();
  for (const { id } of results) await hub(id).flush().catch(() => undefined);
  const count = async () => {
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await env.ARCHIVE.list({ prefix: 'events/', cursor });
      n += page.objects.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return n;
  };
  const before = await count();
  const now = Date.now() + LIMITS.archivePartGraceMs + LIMITS.archiveCompactionMarginMs;
  for (let i = 0; i < 10; i++) if ((await runArchiveJobs(env.ARCHIVE, env.DB, now)).complete) break;
  // A second pass deletes the parts the first one merged (their grace period is over at `now`).
  await runArchiveJobs(env.ARCHIVE, env.DB, now + LIMITS.archivePartGraceMs);
  console.log(`fuzz: ${results.length} hubs drained; archive objects ${before} → ${await count()} after compaction`);
}

/** After the fuzz: every hub's outbox drains (or its batches are dead letters), and every report answers 200. */
export async function checkAfterFuzz(world: FuzzWorld): Promise<void> {
  // History still flows: an event sent now reaches the event log once the hubs drain.
  const sentinel = `after-fuzz-${Date.now()}`;
  for (const ws of [world.main, world.other]) {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: [{ id: sentinel, type: 'after.fuzz', userId: 'u1', room: 'standup', durationMs: 5 }] } });
    expect(res.status, res.text).toBe(202);
  }
  const { results } = await env.DB.prepare('SELECT id, slug FROM workspaces').all<{ id: string; slug: string }>();
  let deadLetters = 0;
  for (const { id, slug } of results) {
    const stub = hub(id);
    // A flush stops at a failed step; setting a poisoned batch aside takes a few tries, so flush until empty (bounded).
    const deadline = Date.now() + 60_000;
    let usage: { pendingBatches: number; deadLetterBatches?: number };
    for (;;) {
      await stub.flush();
      usage = (await stub.usage()) as { pendingBatches: number; deadLetterBatches?: number };
      if (usage.pendingBatches === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // A batch that cannot be written may be set aside as a dead letter; none may stay in the outbox.
    // Soft: a stuck outbox is reported, and the reports below are still checked.
    expect.soft(usage.pendingBatches, `outbox of ${slug} after flush (drain failures in a row: ${(usage as { drainFailures?: number }).drainFailures})`).toBe(0);
    deadLetters += usage.deadLetterBatches ?? 0;
  }
  console.log(`fuzz: ${results.length} workspaces drained; ${deadLetters} batches set aside as dead letters`);
  for (const ws of [world.main, world.other]) {
    const log = await call('GET', `/api/v1/workspaces/${ws.slug}/events?limit=1000&type=after.fuzz`, { token: ws.keys.read });
    expect.soft(log.json?.events?.map((e: { id: string }) => e.id), `${ws.slug}: ${log.text.slice(0, 300)}`).toContain(sentinel);
    for (const path of reportPaths(ws.slug)) {
      const res = await send(world, { route: 'after', hostile: false, method: 'GET', path, credential: 'read', headers: [['authorization', `Bearer ${ws.keys.read}`]] });
      expect.soft(res.status, `${path}: ${res.text.slice(0, 300)}`).toBe(200);
    }
  }
  // The root still lists every workspace.
  expect((await call('GET', '/api/v1/workspaces', { token: ROOT() })).status).toBe(200);
}
