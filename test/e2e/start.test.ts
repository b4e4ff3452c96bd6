import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './server';

const ROOT_DIR = new URL('../..', import.meta.url).pathname;

/**
 * A fresh checkout as a newcomer has it: the files git would commit (tracked and new, nothing ignored:
 * no .dev.vars, no .wrangler state, no build output), with this checkout's node_modules.
 */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgepulse-fresh-'));
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT_DIR, encoding: 'utf8' });
  const files = listed.stdout.split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(ROOT_DIR, file))) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT_DIR, file), join(dir, file));
  }
  symlinkSync(join(ROOT_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  keys: { ingest: string; read: string; admin: string };
  rootToken: string;
}

/** `npm start` (as `node scripts/start.mjs`, what the npm script runs) until it prints its banner. */
async function npmStart(dir: string, port: number): Promise<Started> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: dir, env: { ...process.env, PORT: String(port), CI: 'true', WRANGLER_SEND_METRICS: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const plain = () => out.replace(/\x1b\[[0-9;]*m/g, '');
  const deadline = Date.now() + 170_000;
  while (!/admin key\s+sk_\S+/.test(plain())) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not print its keys:\n${plain()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const text = plain();
  const key = (kind: string) => new RegExp(`${kind} key\\s+(\\S+)`).exec(text)![1];
  return { child, output: plain, keys: { ingest: key('ingest'), read: key('read'), admin: key('admin') }, rootToken: /Root token\s+(\S+)/.exec(text)![1] };
}

/** Ctrl-C, as a user stops it: start.mjs forwards it to wrangler and its workerd child. */
async function stop(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

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
