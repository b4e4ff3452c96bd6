import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshCopy, npmStart, stop, type Started } from './npm-start';
import { freePort } from './server';

let dir: string;
let port: number;
let running: Started | undefined;

beforeAll(async () => {
  dir = freshCopy();
  port = await freePort();
});
afterAll(async () => {
  if (running) await stop(running);
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start on a fresh checkout', () => {
  it('creates .dev.vars with random secrets, serves on PORT, and its printed keys send an event and read it back', async () => {
    expect(existsSync(join(dir, '.dev.vars'))).toBe(false);
    running = await npmStart(dir, port);
    const vars = readFileSync(join(dir, '.dev.vars'), 'utf8');
    const admin = /^ADMIN_TOKEN=(\S+)$/m.exec(vars)?.[1];
    const session = /^SESSION_SECRET=(\S+)$/m.exec(vars)?.[1];
    expect(admin?.length).toBeGreaterThanOrEqual(24);
    expect(session?.length).toBeGreaterThanOrEqual(24);
    expect(admin).not.toBe(session);
    expect(running.rootToken).toBe(admin);
    expect(running.output()).toContain(`http://localhost:${port}`);

    // What the banner's curl commands do.
    const base = `http://localhost:${port}/api/v1/workspaces/demo/events`;
    const sent = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${running.keys.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'start-1', type: 'hello', userId: 'u_1' }) });
    expect(sent.status).toBe(202);
    const deadline = Date.now() + 5_000;
    let ids: string[] = [];
    while (Date.now() < deadline && !ids.includes('start-1')) {
      const res = await fetch(base, { headers: { authorization: `Bearer ${running.keys.read}` } });
      ids = ((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id);
      if (!ids.includes('start-1')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids).toContain('start-1');
  });

  it('started again, keeps .dev.vars and the history, and hands out new keys beside the old ones', async () => {
    const before = readFileSync(join(dir, '.dev.vars'), 'utf8');
    const first = running!;
    await stop(first);
    running = await npmStart(dir, port);
    expect(readFileSync(join(dir, '.dev.vars'), 'utf8')).toBe(before);
    expect(running.output()).toContain('it existed already');
    expect(running.keys.ingest).not.toBe(first.keys.ingest);
    // The event of the first run is still there (state on disk), read with the old key and the new one.
    for (const key of [first.keys.read, running.keys.read]) {
      const res = await fetch(`http://localhost:${port}/api/v1/workspaces/demo/events`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { events: Array<{ id: string }> }).events.map((e) => e.id)).toContain('start-1');
    }
  });
});
