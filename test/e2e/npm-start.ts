import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT_DIR = new URL('../..', import.meta.url).pathname;

/**
 * A fresh checkout as a newcomer has it: the files git would commit (tracked and new, nothing ignored:
 * no .dev.vars, no .wrangler state, no build output), with this checkout's node_modules.
 */
export function freshCopy(): string {
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

export interface Started {
  child: ChildProcess;
  output: () => string;
  keys: { ingest: string; read: string; admin: string };
  rootToken: string;
}

/** `npm start` (as `node scripts/start.mjs`, what the npm script runs) until it prints its banner. */
export async function npmStart(dir: string, port: number, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), CI: 'true', WRANGLER_SEND_METRICS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** Ctrl-C, as a user stops it: start.mjs forwards it to wrangler and its workerd children. */
export async function stop(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

/** The pid of the process listening on a TCP port (Linux: the socket's inode in /proc/net/tcp*, then whose fd holds it). */
export function listenerPid(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (ADDR:PORT), st is f[3] (0A = LISTEN), inode is f[9].
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
