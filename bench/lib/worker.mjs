// The Worker under benchmark: the bench entry (bench/worker.ts, the production app plus the references
// measured beside it), bundled by wrangler, run by Miniflare (one process, no proxy, logging off), or
// by `wrangler dev` for comparison. Bindings come from bench/wrangler.toml.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
/** The bench entry's config: production's bindings plus the bare baseline Durable Object. */
export const BENCH_CONFIG = join(ROOT, 'bench/wrangler.toml');
export const ROOT_TOKEN = 'bench-root-token';
const quietEnv = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `wrangler deploy --dry-run` of the bench entry: bundled exactly as a deploy would bundle it. */
export function buildBundle() {
  // wrangler refuses a config whose assets directory is missing: on a fresh clone, build the dashboard first.
  if (!existsSync(join(ROOT, 'dashboard', 'dist'))) {
    process.stdout.write('dashboard/dist is missing: running npm run build first…\n');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, env: quietEnv, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed: the bench entry needs dashboard/dist');
  }
  const outdir = mkdtempSync(join(tmpdir(), 'edgepulse-bench-bundle-'));
  const out = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--config', BENCH_CONFIG, '--outdir', outdir], { cwd: ROOT, env: quietEnv, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${out.stdout}\n${out.stderr}`);
  return { scriptPath: join(outdir, 'worker.js'), cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** The D1 migrations in order, each split into its statements. */
function migrationStatements() {
  const dir = join(ROOT, 'migrations');
  return readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('--> statement-breakpoint'))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Starts the bundle in Miniflare with bench/wrangler.toml's bindings, in memory, migrations applied. */
export async function startMiniflare(scriptPath, extra = {}) {
  const { Miniflare, NoOpLog } = await import('miniflare');
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig({ config: BENCH_CONFIG }, { hideWarnings: true });
  const durableObjects = Object.fromEntries(
    (config.durable_objects?.bindings ?? []).map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
  );
  const d1Databases = Object.fromEntries((config.d1_databases ?? []).map((d) => [d.binding, d.database_id ?? d.database_name]));
  const r2Buckets = Object.fromEntries((config.r2_buckets ?? []).map((b) => [b.binding, b.bucket_name]));
  const port = await freePort();
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: { ...(config.vars ?? {}), ADMIN_TOKEN: ROOT_TOKEN, SESSION_SECRET: 'bench-session-secret' },
    d1Databases,
    r2Buckets,
    durableObjects,
    host: '127.0.0.1',
    port,
    log: new NoOpLog(),
    ...extra,
  });
  const url = (await mf.ready).origin;
  const db = await mf.getD1Database('DB');
  for (const sql of migrationStatements()) await db.prepare(sql).run();
  return {
    url,
    db,
    /** The workspace's hub stub (RPC through Miniflare's proxy). */
    async hub(workspaceId) {
      const ns = await mf.getDurableObjectNamespace('WORKSPACE_HUB');
      return ns.get(ns.idFromName(workspaceId));
    },
    /** The R2 archive bucket (the objects the drain wrote). */
    bucket: () => mf.getR2Bucket('ARCHIVE'),
    stop: () => mf.dispose(),
  };
}

/** `wrangler dev` of the bench entry on a free port with its own on-disk state, as a user runs it; `vars` adds `--var`s. */
export async function startWranglerDev({ vars = {} } = {}) {
  const persistDir = mkdtempSync(join(tmpdir(), 'edgepulse-bench-state-'));
  const port = await freePort();
  const mig = spawnSync(process.execPath, [WRANGLER, 'd1', 'migrations', 'apply', 'DB', '--local', '--config', BENCH_CONFIG, '--persist-to', persistDir], { cwd: ROOT, env: quietEnv, encoding: 'utf8' });
  if (mig.status !== 0) throw new Error(`migrations failed:\n${mig.stdout}\n${mig.stderr}`);
  const child = spawn(
    process.execPath,
    [WRANGLER, 'dev', '--config', BENCH_CONFIG, '--port', String(port), '--ip', '127.0.0.1', '--inspector-port', String(await freePort()), '--persist-to', persistDir,
      '--show-interactive-dev-session=false', '--log-level', 'error', '--var', `ADMIN_TOKEN:${ROOT_TOKEN}`, '--var', 'SESSION_SECRET:bench',
      ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
    { cwd: ROOT, env: quietEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let exited = false;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.on('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    for (let i = 0; i < 50 && !exited; i++) await new Promise((r) => setTimeout(r, 50));
    rmSync(persistDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited || Date.now() > deadline || /Build failed/.test(output)) {
      await stop();
      throw new Error(`wrangler dev did not become healthy:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, stop };
}

/** Creates a workspace through the API; returns its keys and its internal id. */
export async function createWorkspace(url, slug) {
  const res = await fetch(`${url}/api/v1/workspaces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ROOT_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug }),
  });
  if (res.status !== 201) throw new Error(`create workspace ${slug}: ${res.status} ${await res.text()}`);
  const { keys } = await res.json();
  // Benchmarks measure what the Worker can take: the workspace's rate limit (1,000 events/s by default) goes to its maximum.
  const limited = await fetch(`${url}/api/v1/workspaces/${slug}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rateLimit: { eventsPerSecond: 1_000_000 } }),
  });
  if (limited.status !== 200) throw new Error(`raise the rate limit of ${slug}: ${limited.status} ${await limited.text()}`);
  return keys;
}
