#!/usr/bin/env node
// `npm start`: the whole product locally, state on disk, with a demo workspace and its keys printed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiCall } from './lib/api.mjs';
import { runCron } from './lib/cron.mjs';
import { supervise } from './lib/supervisor.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRANGLER = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));
const DEV_VARS = fileURLToPath(new URL('../.dev.vars', import.meta.url));
const PORT = Number(process.env.PORT || 8787);
const URL_BASE = `http://localhost:${PORT}`;
const DEMO = 'demo';
// As wrangler.toml's [triggers]; EDGEPULSE_CRON_SECONDS shortens the period (tests).
const CRON = '*/5 * * * *';
const CRON_PERIOD_MS = Number(process.env.EDGEPULSE_CRON_SECONDS || 300) * 1000;
// Optional: restart the runtime before it reaches V8's heap limit (0: only when it dies or stops answering).
const MAX_RSS_MB = Number(process.env.EDGEPULSE_MAX_RSS_MB || 0);
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };

const step = (msg) => console.log(`\x1b[36m▸\x1b[0m ${msg}`);
const warn = (msg) => console.error(`\x1b[33m! ${msg}\x1b[0m`);
let server; // the supervised wrangler dev, once started
const fail = (msg) => {
  console.error(`\x1b[31m✗ ${msg}\x1b[0m`);
  server?.kill();
  process.exit(1);
};

/** Reads KEY=value lines; quotes around the value are dropped. */
function readVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

/** Creates .dev.vars, or adds the secrets it lacks; never changes a value that is there. */
function ensureDevVars() {
  const existing = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, 'utf8') : undefined;
  const vars = existing === undefined ? {} : readVars(existing);
  const missing = ['ADMIN_TOKEN', 'SESSION_SECRET'].filter((k) => !vars[k]);
  if (missing.length) {
    const lines = missing.map((k) => `${k}=${randomBytes(24).toString('base64url')}`);
    if (existing === undefined) {
      writeFileSync(DEV_VARS, `# Local secrets for wrangler dev (created by npm start; not committed)\n${lines.join('\n')}\n`, { mode: 0o600 });
      step(`created .dev.vars with a random ${missing.join(' and ')}`);
    } else {
      appendFileSync(DEV_VARS, `${existing.endsWith('\n') || existing === '' ? '' : '\n'}${lines.join('\n')}\n`);
      step(`added ${missing.join(' and ')} to .dev.vars`);
    }
    Object.assign(vars, readVars(lines.join('\n')));
  } else {
    step('using the secrets in .dev.vars');
  }
  return vars;
}

function run(what, cmd, args) {
  step(what);
  const out = spawnSync(cmd, args, { cwd: ROOT, env: { ...env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (out.status !== 0) fail(`${what} failed:\n${out.stdout}\n${out.stderr}`);
}

const api = (method, path, token, body) => apiCall(URL_BASE, method, path, token, body);

/** The demo workspace's keys: from its creation, or fresh ones (secrets are shown only once). */
async function demoKeys(rootToken) {
  const created = await api('POST', '/api/v1/workspaces', rootToken, { slug: DEMO, name: 'Demo' });
  if (created.status === 201) return { keys: created.json.keys, fresh: false };
  if (created.status !== 409) fail(`could not create the demo workspace: ${created.status} ${created.text}`);
  const keys = {};
  for (const kind of ['ingest', 'read', 'admin']) {
    const res = await api('POST', `/api/v1/workspaces/${DEMO}/keys`, rootToken, { kind, name: `npm start ${new Date().toISOString()}` });
    if (res.status !== 201) fail(`could not create a ${kind} key for the demo workspace: ${res.status} ${res.text}`);
    keys[kind] = res.json.secret;
  }
  return { keys, fresh: true };
}

function banner(rootToken, keys, fresh) {
  const b = (s) => `\x1b[1m${s}\x1b[0m`;
  const event = JSON.stringify({ type: 'hello', userId: 'u_1', properties: { from: 'curl' } });
  console.log(`
${b('edgepulse is running')}  (state on disk in .wrangler/state; Ctrl-C stops it)

  API            ${URL_BASE}
  Dashboard      ${URL_BASE}/   (sign in with the demo read or admin key)
  API reference  ${URL_BASE}/api/docs   (OpenAPI: ${URL_BASE}/api/v1/openapi.json)

  Root token     ${rootToken}   (ADMIN_TOKEN in .dev.vars)

  Workspace "${DEMO}"${fresh ? '   (it existed already: these are new keys; the old ones still work)' : ''}
    ingest key   ${keys.ingest}
    read key     ${keys.read}
    admin key    ${keys.admin}

${b('Send an event:')}
  curl -X POST ${URL_BASE}/api/v1/workspaces/${DEMO}/events \\
    -H 'Authorization: Bearer ${keys.ingest}' \\
    -H 'Content-Type: application/json' \\
    -d '${event}'

${b('Read it back')} (newest first; an accepted event reaches history within a second or so):
  curl ${URL_BASE}/api/v1/workspaces/${DEMO}/events \\
    -H 'Authorization: Bearer ${keys.read}'
`);
}

// The build runs through npm itself so that it is exactly `npm run build`.
function npmRunBuild() {
  step('building the dashboard (npm run build)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = spawnSync(npm, ['run', 'build', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (out.status !== 0) fail(`npm run build failed:\n${out.stdout}\n${out.stderr}`);
}

async function start() {
  const vars = ensureDevVars();
  npmRunBuild();
  run('applying the D1 migrations locally', process.execPath, [WRANGLER, 'd1', 'migrations', 'apply', 'DB', '--local']);
  step(`starting wrangler dev on port ${PORT} (restarted if it dies or stops answering)`);
  server = supervise({
    command: process.execPath,
    // --test-scheduled: the /__scheduled route the cron below fires.
    args: [WRANGLER, 'dev', '--port', String(PORT), '--show-interactive-dev-session=false', '--test-scheduled'],
    cwd: ROOT,
    env,
    healthUrl: `${URL_BASE}/health`,
    log: step,
    warn,
    maxRssMb: MAX_RSS_MB,
  });
  let stopCron = () => {};
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstopping wrangler dev (${signal})…`);
    stopCron();
    await server.stop();
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(sig));

  if (!(await server.ready)) {
    if (stopping) return;
    fail(`wrangler dev did not answer ${URL_BASE}/health within 120 s`);
  }
  const { keys, fresh } = await demoKeys(vars.ADMIN_TOKEN);
  banner(vars.ADMIN_TOKEN, keys, fresh);
  stopCron = runCron({ baseUrl: URL_BASE, cron: CRON, periodMs: CRON_PERIOD_MS, isUp: server.isUp, log: step, warn });
  step(`the cron (${CRON}, retention) runs every ${CRON_PERIOD_MS / 1000} s`);
}

start().catch((err) => fail(err?.stack ?? String(err)));
