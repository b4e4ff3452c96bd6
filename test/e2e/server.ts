import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT_DIR = new URL('../..', import.meta.url).pathname;
const WRANGLER = join(ROOT_DIR, 'node_modules/wrangler/bin/wrangler.js');

/** Ports handed out by this process: never the same one twice, even before its server binds it. */
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port no one listens on, below Linux's ephemeral range (32768–60999): a port the kernel picked for
 * `listen(0)` is soon picked again for the many sockets wrangler and workerd open, and the server then
 * fails with "Address already in use".
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}

export interface DevServer {
  url: string;
  port: number;
  persistDir: string;
  rootToken: string;
  /** Output of the current process, for failure messages. */
  log(): string;
  /** SIGKILLs wrangler and its workerd child (the whole process group). */
  kill(): void;
  /** Starts again on the same port and state. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function applyMigrations(persistDir: string): void {
  const out = spawnSync(process.execPath, [WRANGLER, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir], {
    cwd: ROOT_DIR,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`migrations failed:\n${out.stdout}\n${out.stderr}`);
}

export async function waitForHealth(url: string, timeoutMs = 60_000, isAlive: () => boolean = () => true, failure: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('server exited before it became healthy');
    const reason = failure();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} not healthy after ${timeoutMs} ms`);
}

/**
 * Starts `wrangler dev` on a free port with its own on-disk state (D1 and Durable Objects),
 * migrations applied, and a random root token.
 */
export async function startDevServer(opts: { persistDir?: string; vars?: Record<string, string>; args?: string[] } = {}): Promise<DevServer> {
  const port = await freePort();
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), 'edgepulse-e2e-'));
  const rootToken = `e2e-root-${Math.random().toString(36).slice(2)}`;
  const url = `http://127.0.0.1:${port}`;
  applyMigrations(persistDir);
  let child: ChildProcess | undefined;
  let output = '';
  let exited = false;

  const launch = async () => {
    output = '';
    exited = false;
    const inspector = await freePort();
    const vars = { ADMIN_TOKEN: rootToken, SESSION_SECRET: `e2e-session-${port}`, ...(opts.vars ?? {}) };
    child = spawn(
      process.execPath,
      [WRANGLER, 'dev', '--port', String(port), '--ip', '127.0.0.1', '--inspector-port', String(inspector), '--persist-to', persistDir,
        '--show-interactive-dev-session=false', '--log-level', 'warn', ...(opts.args ?? []), ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
      { cwd: ROOT_DIR, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' } },
    );
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('exit', () => (exited = true));
    // A build error leaves wrangler waiting for a file change: fail at once instead.
    const buildFailed = () => (/Build failed|✘ \[ERROR\]/.test(output) ? 'wrangler could not build the Worker' : undefined);
    await waitForHealth(url, 90_000, () => !exited, buildFailed).catch((err) => {
      killGroup('SIGKILL');
      throw new Error(`${err.message}\n${output}`);
    });
  };

  const killGroup = (signal: NodeJS.Signals) => {
    if (child?.pid && !exited) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  };

  const waitExit = async () => {
    for (let i = 0; i < 100 && !exited; i++) await new Promise((r) => setTimeout(r, 50));
  };

  // Never leave a server behind when the test process ends early.
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  await launch();
  return {
    url,
    port,
    persistDir,
    rootToken,
    log: () => output,
    kill: () => killGroup('SIGKILL'),
    restart: async () => {
      killGroup('SIGKILL');
      await waitExit();
      await launch();
    },
    stop: async () => {
      killGroup('SIGTERM');
      await waitExit();
      killGroup('SIGKILL');
      process.off('exit', onExit);
      if (!opts.persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** Creates a workspace through the public API and returns its keys. */
export async function createWorkspace(server: DevServer, slug: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/api/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.rootToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug, ...extra }),
  });
  if (res.status !== 201) throw new Error(`create workspace ${slug}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { workspace: { slug: string }; keys: { ingest: string; read: string; admin: string } };
}
