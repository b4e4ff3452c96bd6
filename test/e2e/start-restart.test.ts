import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCopy, listenerPid, npmStart, stop, type Started } from './npm-start';
import { freePort } from './server';

// The runtime behind `npm start` dies (as when workerd reaches V8's heap limit): its supervisor
// restarts it by itself, and everything acknowledged before is still there (state on disk).
let dir: string;
let port: number;
let running: Started | undefined;

beforeAll(async () => {
  dir = freshCopy();
  port = await freePort();
  running = await npmStart(dir, port, { EDGEPULSE_CRON_SECONDS: '3600' });
});
afterAll(async () => {
  if (running) await stop(running);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm start when its runtime is killed', () => {
  it('answers again within 20 s by itself, with every acknowledged event', async () => {
    const base = `http://localhost:${port}/api/v1/workspaces/demo/events`;
    const acked: string[] = [];
    for (let b = 0; b < 10; b++) {
      const events = Array.from({ length: 20 }, (_, i) => ({ id: `kill-${b}-${i}`, type: 'before.kill', userId: `u${i % 4}` }));
      const res = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${running!.keys.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      expect(res.status).toBe(202);
      acked.push(...events.map((e) => e.id));
    }

    // The process that serves the port (wrangler dev's front workerd), killed as the heap limit kills it.
    const pid = listenerPid(port);
    expect(pid, 'a process listens on the port').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    const killedAt = Date.now();
    await sleep(200);
    expect(listenerPid(port)).not.toBe(pid);

    let back = 0;
    while (Date.now() - killedAt < 60_000) {
      try {
        const res = await fetch(`http://localhost:${port}/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) {
          back = Date.now() - killedAt;
          break;
        }
      } catch {
        // not yet
      }
      await sleep(250);
    }
    console.log(`answered again ${(back / 1000).toFixed(1)} s after the kill`);
    expect(back, running!.output().slice(-3000)).toBeGreaterThan(0);
    expect(back).toBeLessThan(20_000);
    expect(running!.output()).toMatch(/runtime stopped answering.*; restarting \(state is kept on disk\)/);
    // Its own probe may see the runtime back a moment after ours.
    for (let i = 0; i < 40 && !/runtime is back after/.test(running!.output()); i++) await sleep(250);
    expect(running!.output()).toMatch(/runtime is back after [\d.]+ s \(restart 1\)/);

    // Every acknowledged event, once each (the outbox drains what it had not yet moved to D1).
    const deadline = Date.now() + 30_000;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      const res = await fetch(`${base}?limit=1000`, { headers: { authorization: `Bearer ${running!.keys.read}` } });
      expect(res.status).toBe(200);
      ids = ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id).filter((id) => id.startsWith('kill-'));
      if (ids.length >= acked.length) break;
      await sleep(500);
    }
    expect(ids.sort()).toEqual([...acked].sort());

    // And it takes new events.
    const after = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${running!.keys.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'after-kill', type: 'after.kill' }) });
    expect(after.status).toBe(202);
  });
});
