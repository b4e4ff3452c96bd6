#!/usr/bin/env node
// `npm run demo`: realistic traffic through the public API, so a fresh clone's dashboard is alive.
//   node scripts/demo.mjs [--host URL] [--key pk_…|sk_…] [--root TOKEN] [--workspace demo]
//                         [--rate EVENTS_PER_SECOND] [--duration SECONDS (0: until Ctrl-C)] [--backfill DAYS]
// Without --key it uses the root token (--root, ADMIN_TOKEN, or .dev.vars) to create or find the workspace.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apiCall } from './lib/api.mjs';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.EDGEPULSE_HOST ?? `http://localhost:${process.env.PORT || 8787}` },
    key: { type: 'string', default: process.env.EDGEPULSE_KEY },
    root: { type: 'string', default: process.env.ADMIN_TOKEN },
    workspace: { type: 'string', default: process.env.EDGEPULSE_WORKSPACE ?? 'demo' },
    rate: { type: 'string', default: '25' },
    duration: { type: 'string', default: '0' },
    backfill: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 5).join('\n').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}

const HOST = args.host.replace(/\/$/, '');
const WS = args.workspace;
const RATE = Math.max(1, Number(args.rate) || 25);
const DURATION_S = Math.max(0, Number(args.duration) || 0);
/** Days of history to send first: by default 7 for a workspace created now, none for one that has traffic. */
let BACKFILL_DAYS = args.backfill === undefined ? undefined : Math.max(0, Math.min(30, Number(args.backfill) || 0));
const TICK_MS = 250;

const fail = (msg) => {
  console.error(`\n\x1b[31m✗ ${msg}\x1b[0m`);
  process.exit(1);
};

function rootFromDevVars() {
  const file = new URL('../.dev.vars', import.meta.url);
  if (!existsSync(file)) return undefined;
  const m = /^\s*ADMIN_TOKEN\s*=\s*(.*?)\s*$/m.exec(readFileSync(file, 'utf8'));
  return m?.[1].replace(/^(['"])(.*)\1$/, '$2');
}

const request = (method, path, token, body) => apiCall(HOST, method, path, token, body);

/** An ingest-capable key: the one given, or one made with the root token (creating the workspace if needed). */
async function ingestKey() {
  if (args.key) return args.key;
  const root = args.root ?? rootFromDevVars();
  if (!root) fail('no key: pass --key pk_… (or sk_…), or --root / ADMIN_TOKEN, or run `npm start` once to create .dev.vars');
  const created = await request('POST', '/api/v1/workspaces', root, { slug: WS, name: 'Demo' });
  if (created.status === 0) fail(`cannot reach ${HOST} (${created.text}): is \`npm start\` running?`);
  if (created.status === 201) {
    console.log(`created workspace "${WS}"; sign in to ${HOST}/ with its read key ${created.json.keys.read}`);
    BACKFILL_DAYS ??= 7;
    return created.json.keys.ingest;
  }
  if (created.status !== 409) fail(`creating workspace "${WS}": ${created.status} ${created.text}`);
  const key = await request('POST', `/api/v1/workspaces/${WS}/keys`, root, { kind: 'ingest', name: `npm run demo ${new Date().toISOString()}` });
  if (key.status !== 201) fail(`creating an ingest key for "${WS}": ${key.status} ${key.text}`);
  console.log(`workspace "${WS}" exists; sign in to ${HOST}/ with the read key \`npm start\` printed (or the root token)`);
  return key.json.secret;
}

// ---- a small simulated product: users on devices, rooms, an API, pages ----
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const weighted = (pairs) => {
  let r = Math.random() * pairs.reduce((a, [, w]) => a + w, 0);
  for (const [v, w] of pairs) if ((r -= w) < 0) return v;
  return pairs[0][0];
};
/** Log-normal latency: most requests fast, a long tail. */
const latency = (median, spread = 0.6) => Math.round(median * Math.exp(spread * Math.sqrt(-2 * Math.log(Math.random() || 1e-9)) * Math.cos(2 * Math.PI * Math.random())) * 10) / 10;
const id = () => randomBytes(12).toString('base64url');

const DEVICES = [
  [{ platform: 'Web', os: 'macOS', browser: 'Chrome', device: 'desktop' }, 28],
  [{ platform: 'Web', os: 'Windows', browser: 'Edge', device: 'desktop' }, 14],
  [{ platform: 'Web', os: 'Windows', browser: 'Firefox', device: 'desktop' }, 7],
  [{ platform: 'Web', os: 'iOS', browser: 'Safari', device: 'mobile' }, 12],
  [{ platform: 'iOS', os: 'iOS 18', browser: 'App', device: 'mobile', sdk: 'livekit-swift' }, 16],
  [{ platform: 'Android', os: 'Android 15', browser: 'App', device: 'mobile', sdk: 'livekit-android' }, 14],
  [{ platform: 'Web', os: 'Linux', browser: 'Chrome', device: 'desktop' }, 5],
  [{ platform: 'Web', os: 'iPadOS', browser: 'Safari', device: 'tablet' }, 4],
];
const COUNTRIES = [['US', 30], ['DE', 14], ['GB', 10], ['IN', 10], ['BR', 8], ['FR', 7], ['JP', 6], ['CA', 5], ['NL', 4], ['ES', 3], ['AU', 3]];
const USERS = Array.from({ length: 80 }, (_, i) => ({
  userId: `u_${String(i + 1).padStart(3, '0')}`,
  context: { ...weighted(DEVICES), country: weighted(COUNTRIES), connectionType: weighted([['udp', 8], ['tcp', 1], ['turn', 1]]) },
  sessionId: `s_${id()}`,
}));
const ROOMS = [['standup', 6], ['design-review', 3], ['town-hall', 4], ['support-1', 2], ['gaming-lobby', 5]];
const ROUTES = [
  ['GET /v1/rooms', 30, 35],
  ['POST /v1/messages', 25, 60],
  ['GET /v1/users/:id', 20, 25],
  ['POST /v1/chat/completions', 10, 900],
  ['POST /v1/uploads', 5, 400],
  ['GET /v1/search', 10, 120],
];
const PAGES = ['/', '/pricing', '/docs', '/docs/quickstart', '/blog/realtime-analytics', '/app', '/app/rooms', '/app/settings'];
const ERRORS = [['timeout', 5], ['upstream_502', 3], ['rate_limited', 2], ['validation_failed', 2], ['db_unavailable', 1]];

const presence = new Map(); // room -> Set(userId)
for (const [room] of ROOMS) presence.set(room, new Set());
const inRoom = new Map(); // userId -> room

function event(user, type, extra = {}, at = Date.now()) {
  return { id: id(), type, timestamp: at, userId: user.userId, sessionId: user.sessionId, context: user.context, ...extra };
}

/** One simulated moment: people join and leave rooms, call the API, view pages, chat. */
function traffic(n, at = Date.now(), live = true) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const user = pick(USERS);
    const kind = weighted([['api', 45], ['page', 25], ['room', live ? 12 : 6], ['chat', 12], ['ai', 6]]);
    if (kind === 'api') {
      const [route, , median] = weighted(ROUTES.map((r) => [r, r[1]]));
      const error = Math.random() < 0.035 ? weighted(ERRORS) : undefined;
      out.push(event(user, 'api.request', {
        durationMs: latency(error === 'timeout' ? median * 8 : median),
        bytesIn: Math.round(200 + Math.random() * 2000),
        bytesOut: Math.round(route.includes('uploads') ? 200_000 + Math.random() * 800_000 : 1_000 + Math.random() * 40_000),
        ...(error ? { error } : {}),
        properties: { route, status: error ? (error === 'rate_limited' ? 429 : error === 'validation_failed' ? 400 : 502) : 200 },
      }, at));
    } else if (kind === 'page') {
      out.push(event(user, 'pageview', {
        durationMs: latency(1200, 0.8),
        context: { ...user.context, url: `https://example.app${pick(PAGES)}`, referrer: pick(['https://google.com/', 'https://news.ycombinator.com/', '', 'https://twitter.com/']) },
      }, at));
    } else if (kind === 'room' && live) {
      const current = inRoom.get(user.userId);
      if (current) {
        presence.get(current).delete(user.userId);
        inRoom.delete(user.userId);
        out.push(event(user, 'presence.leave', { room: current }, at));
      } else {
        const room = weighted(ROOMS);
        presence.get(room).add(user.userId);
        inRoom.set(user.userId, room);
        out.push(event(user, 'presence.join', { room }, at));
      }
    } else if (kind === 'room') {
      // History: a finished stay of 1–40 minutes, so nobody is left "present" from the past.
      const room = weighted(ROOMS);
      out.push(event(user, 'presence.join', { room }, at));
      out.push(event(user, 'presence.leave', { room }, Math.min(Date.now() - 60_000, at + Math.round(60_000 + Math.random() * 39 * 60_000))));
    } else if (kind === 'chat') {
      const room = inRoom.get(user.userId) ?? weighted(ROOMS);
      out.push(event(user, 'message.sent', { room, bytesOut: Math.round(80 + Math.random() * 600), properties: { kind: pick(['text', 'text', 'emoji', 'file']) } }, at));
    } else {
      const tokens = Math.round(200 + Math.random() * 3000);
      const error = Math.random() < 0.02 ? 'model_overloaded' : undefined;
      out.push(event(user, 'ai.completion', { durationMs: latency(1400, 0.5), value: tokens, ...(error ? { error } : {}), properties: { model: pick(['gpt-4o', 'gpt-4o-mini', 'claude-sonnet']), tokens } }, at));
    }
  }
  return out;
}

// ---- sending, with a progress line ----
const stats = { sent: 0, accepted: 0, duplicates: 0, failed: 0, requests: 0, lastError: '' };
let started = Date.now();
/** Accepted before the live phase (the backfill), left out of the live rate. */
let acceptedBefore = 0;
const bar = () => {
  const s = Math.max(1, (Date.now() - started) / 1000);
  const rooms = [...presence].filter(([, set]) => set.size).map(([r, set]) => `${r}:${set.size}`).join(' ');
  const line = `\r\x1b[2K▸ ${Math.round(s)}s  sent ${stats.sent}  accepted ${stats.accepted}  ${((stats.accepted - acceptedBefore) / s).toFixed(1)}/s  failed ${stats.failed}  rooms ${rooms || '–'}${stats.lastError ? `  last error: ${stats.lastError}` : ''}`;
  process.stdout.write(process.stdout.isTTY ? line.slice(0, (process.stdout.columns || 160) + 6) : `${line.slice(1)}\n`);
};

async function send(key, events) {
  stats.sent += events.length;
  stats.requests++;
  let res = await request('POST', `/api/v1/workspaces/${WS}/events`, key, { events });
  // Over the workspace's rate limit nothing was stored: wait as the answer says and send the same batch again.
  while (res.status === 429) {
    stats.lastError = `rate limited, waiting ${res.retryAfter ?? 1} s`;
    await new Promise((r) => setTimeout(r, Number(res.retryAfter ?? 1) * 1000));
    res = await request('POST', `/api/v1/workspaces/${WS}/events`, key, { events });
  }
  if (res.status === 202) {
    stats.accepted += res.json.accepted;
    stats.duplicates += res.json.duplicates;
    stats.lastError = '';
  } else {
    stats.failed += events.length;
    stats.lastError = res.status ? `${res.status} ${res.json?.error?.message ?? res.text.slice(0, 80)}` : `unreachable (${res.text})`;
    if (res.status === 401 || res.status === 403) fail(`the key was refused: ${stats.lastError}`);
  }
}

async function backfill(key) {
  if (!BACKFILL_DAYS) return;
  BACKFILL_DAYS = Math.round(BACKFILL_DAYS);
  const now = Date.now();
  const total = BACKFILL_DAYS * 24 * 30;
  const batches = [];
  // A daily rhythm: busier during the day (UTC), a dip at night; 30 moments an hour.
  for (let i = 0; i < total; i++) {
    const at = now - BACKFILL_DAYS * 86_400_000 + (i / total) * (BACKFILL_DAYS * 86_400_000 - 120_000);
    const hour = new Date(at).getUTCHours();
    const n = Math.max(1, Math.round((hour >= 8 && hour <= 20 ? 3 : 1) * (0.5 + Math.random())));
    batches.push(...traffic(n, Math.round(at), false));
  }
  for (let i = 0; i < batches.length; i += 500) {
    await send(key, batches.slice(i, i + 500));
    process.stdout.write(`\r\x1b[2K▸ backfilling ${BACKFILL_DAYS} days of history: ${Math.min(batches.length, i + 500)}/${batches.length} events`);
  }
  process.stdout.write('\n');
}

async function main() {
  const key = await ingestKey();
  console.log(`sending demo traffic to ${HOST}/api/v1/workspaces/${WS} at ~${RATE} events/s${DURATION_S ? ` for ${DURATION_S}s` : ' (Ctrl-C stops)'}`);
  console.log(`dashboard: ${HOST}/w/${WS}`);
  await backfill(key);
  started = Date.now();
  acceptedBefore = stats.accepted;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Leave the rooms, so presence ends clean.
    const leaves = [...inRoom].map(([userId, room]) => event(USERS.find((u) => u.userId === userId), 'presence.leave', { room }));
    if (leaves.length) await send(key, leaves);
    bar();
    process.stdout.write(`\ndone: ${stats.accepted} events accepted, ${stats.duplicates} duplicates, ${stats.failed} failed\n`);
    process.exit(stats.failed && !stats.accepted ? 1 : 0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const progress = setInterval(bar, 500);
  let carry = 0;
  while (!stopping) {
    const tick = Date.now();
    // Bursty: the rate wanders ±50% so the live chart has shape.
    carry += (RATE * TICK_MS) / 1000 * (0.5 + Math.random());
    const n = Math.floor(carry);
    carry -= n;
    if (n > 0) await send(key, traffic(n));
    if (DURATION_S && Date.now() - started >= DURATION_S * 1000) break;
    await new Promise((r) => setTimeout(r, Math.max(0, TICK_MS - (Date.now() - tick))));
  }
  clearInterval(progress);
  await stop();
}

main().catch((err) => fail(err?.stack ?? String(err)));
