#!/usr/bin/env node
// Live fan-out through `wrangler dev`: N WebSocket subscribers on one workspace; time from the start
// of an event's POST to each subscriber's receipt, beside a bare Durable Object broadcasting one
// message to N sockets of its own, timed the same way in the same run (bench/worker.ts, the bench entry).
// The rounds run again once the workspace has ALERT_RULES alert rules (evaluated by its hub after
// every batch and from its alarm): the live p99 with them against the same bare broadcast.
// Then a sustained event rate, counting messages per second per subscriber.
// `npm run bench:live` (env: SUBSCRIBERS=1000 ROUNDS=20 RATE=5000 SECONDS=10 ALERT_RULES=100).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { createWorkspace, ROOT_TOKEN, startWranglerDev } from './lib/worker.mjs';

const N = Number(process.env.SUBSCRIBERS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const RATE = Number(process.env.RATE ?? 5000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ALERT_RULES = Number(process.env.ALERT_RULES ?? 100);
const GOALS = { p99Ratio: 1.5, messagesPerSecond: 14, rulesP99Ratio: 1.5 };
const log = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Opens `count` sockets in waves; `onMessage(i, text, at)` gets every frame with its receipt time. */
async function openSockets(label, count, url, headers, onMessage) {
  const sockets = [];
  for (let start = 0; start < count; start += 50) {
    const wave = [];
    for (let i = start; i < Math.min(count, start + 50); i++) {
      wave.push(new Promise((resolve, reject) => {
        const s = new WebSocket(url, { headers, perMessageDeflate: false });
        s.on('message', (raw) => onMessage(i, raw.toString(), performance.now()));
        s.once('open', () => resolve(s));
        s.once('unexpected-response', (_q, r) => reject(new Error(`${label}: HTTP ${r.statusCode}`)));
        s.once('error', reject);
      }));
    }
    sockets.push(...(await Promise.all(wave)));
    process.stdout.write(`\r  ${label}: ${sockets.length}/${count} connected`);
  }
  process.stdout.write('\n');
  return sockets;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
/**
 * Rules of every metric over a mix of filters (none, the bench's event type, a room, a type never
 * sent), with thresholds they never cross: the cost measured is evaluation, not deliveries.
 */
function alertRule(i, receiverUrl) {
  const metrics = ['eventsPerSecond', 'events', 'errors', 'errorRate', 'latencyP95', 'latencyP99', 'onlineUsers', 'roomParticipants', 'gauge'];
  const metric = metrics[i % metrics.length];
  const presence = metric === 'onlineUsers' || metric === 'roomParticipants';
  const filters = [{}, { type: 'bench.live' }, { room: `room-${i}` }, { type: `never-${i}` }];
  const filter = { ...(presence ? (i % 2 ? { room: `room-${i}` } : {}) : filters[i % filters.length]), ...(metric === 'gauge' ? { gauge: 'cpu' } : {}) };
  const below = metric === 'eventsPerSecond' && i % 2 === 1;
  return {
    name: `bench rule ${i}`, metric, filter, op: below ? '<' : '>', threshold: below ? -1 : 1e12,
    windowMinutes: 1 + (i % 15), forMinutes: i % 3, destination: { url: `${receiverUrl}/bench-hook-${i}` },
  };
}

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 0.5), p95: pct(s, 0.95), p99: pct(s, 0.99) };
};

async function main() {
  log(`bench:live — ${N} WebSocket subscribers through wrangler dev, ${ROUNDS} rounds each, then ${RATE} events/s for ${SECONDS} s`);
  log('starting wrangler dev of the bench entry (bench/wrangler.toml) …');
  const { url, stop } = await startWranglerDev();
  try {
    const slug = `bench-live-${Date.now().toString(36)}`;
    const keys = await createWorkspace(url, slug);
    const wsUrl = url.replace('http', 'ws');

    // Receipt times per round id, per socket.
    const liveSeen = new Map();
    const bareSeen = new Map();
    const perSecond = new Map(); // second → messages summed over live subscribers (sustained phase)
    let counting = false;
    const record = (map, id, i, at) => {
      let m = map.get(id);
      if (!m) map.set(id, (m = new Map()));
      if (!m.has(i)) m.set(i, at);
    };
    // The root token: a workspace key holds at most 100 live connections (LIMITS.liveConnectionsPerKey).
    const live = await openSockets('live subscribers', N, `${wsUrl}/api/v1/workspaces/${slug}/live`, { authorization: `Bearer ${ROOT_TOKEN}` }, (i, text, at) => {
      if (counting) {
        const sec = Math.floor(at / 1000);
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
        return;
      }
      if (!text.startsWith('{"type":"events"')) return;
      for (const m of text.matchAll(/"id":"(a?r\d+)"/g)) record(liveSeen, m[1], i, at);
    });
    const bare = await openSockets('bare-DO sockets', N, `${wsUrl}/api/v1/bench/ws`, {}, (i, text, at) => record(bareSeen, text, i, at));

    const waitAll = async (map, id) => {
      const deadline = performance.now() + 5000;
      while ((map.get(id)?.size ?? 0) < N && performance.now() < deadline) await sleep(5);
      return map.get(id)?.size ?? 0;
    };
    let missing = 0;
    /** ROUNDS of: the bare broadcast, then one event through /events; receipt times from the start of each POST. */
    const rounds = async (prefix) => {
      const liveLat = [];
      const bareLat = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Baseline: the bare Durable Object broadcast, timed from the start of its POST.
        const bid = `${prefix}b${r}`;
        let t0 = performance.now();
        await fetch(`${url}/api/v1/bench/broadcast`, { method: 'POST', body: bid });
        missing += N - (await waitAll(bareSeen, bid));
        for (const at of bareSeen.get(bid)?.values() ?? []) bareLat.push(at - t0);
        await sleep(300);
        // The product path: POST an event (auth, validation, durable outbox, live state, coalesced fan-out).
        const id = `${prefix}r${r}`;
        t0 = performance.now();
        const res = await fetch(`${url}/api/v1/workspaces/${slug}/events`, {
          method: 'POST', headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, type: 'bench.live', userId: `u${r}`, durationMs: 20 + r, gauges: { cpu: 0.5 } }),
        });
        if (res.status !== 202) throw new Error(`POST: ${res.status} ${await res.text()}`);
        missing += N - (await waitAll(liveSeen, id));
        for (const at of liveSeen.get(id)?.values() ?? []) liveLat.push(at - t0);
        process.stdout.write(`\r  latency rounds${prefix ? ` (${ALERT_RULES} alert rules)` : ''}: ${r + 1}/${ROUNDS}`);
        await sleep(300);
      }
      process.stdout.write('\n');
      return { L: summary(liveLat), B: summary(bareLat) };
    };
    const { L, B } = await rounds('');

    // The same rounds with the workspace's alert rules in place (the hub evaluates them after every batch, at most once a second, and every 5 s).
    for (let i = 0; i < ALERT_RULES; i++) {
      const res = await fetch(`${url}/api/v1/workspaces/${slug}/alerts`, {
        method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(alertRule(i, url)),
      });
      if (res.status !== 201) throw new Error(`POST alert ${i}: ${res.status} ${await res.text()}`);
      process.stdout.write(`\r  alert rules: ${i + 1}/${ALERT_RULES}`);
    }
    process.stdout.write('\n');
    const { L: RL, B: RB } = await rounds('a');
    for (const s of bare) s.terminate();

    // Sustained rate: batches of 100 events spread evenly over each second.
    log(`sustained ${RATE} events/s for ${SECONDS} s …`);
    const BATCH = 100;
    const perTick = RATE / BATCH;
    counting = true;
    const startSec = Math.floor(performance.now() / 1000) + 1;
    let sent = 0;
    let failed = 0;
    const begin = performance.now();
    const inflight = new Set();
    for (let tick = 0; tick < SECONDS * perTick; tick++) {
      const due = begin + (tick * 1000) / perTick;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const events = Array.from({ length: BATCH }, (_, k) => ({ id: `s${tick}-${k}`, type: k % 10 ? 'bench.load' : 'bench.error', userId: `u${(tick * BATCH + k) % 2000}`, durationMs: k, ...(k % 10 ? {} : { error: 'x' }) }));
      const p = fetch(`${url}/api/v1/workspaces/${slug}/events`, {
        method: 'POST', headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }),
      }).then((r) => { if (r.status === 202) sent += BATCH; else failed++; return r.arrayBuffer(); }).catch(() => failed++).finally(() => inflight.delete(p));
      inflight.add(p);
      if (tick % perTick === 0) process.stdout.write(`\r  ${Math.round((performance.now() - begin) / 1000)} s: ${sent} events acknowledged, ${inflight.size} in flight`);
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - begin) / 1000;
    await sleep(1000);
    counting = false;
    const endSec = startSec + Math.floor(elapsed) - 1;
    process.stdout.write('\n');
    const secs = [...perSecond].filter(([s]) => s >= startSec && s <= endSec).map(([, n]) => n / N);
    const meanRate = secs.reduce((a, b) => a + b, 0) / Math.max(1, secs.length);
    const maxRate = Math.max(...secs);

    log('');
    log(`fan-out latency, POST start → receipt, ${N} subscribers × ${ROUNDS} rounds (ms)`);
    log(`  bare DO broadcast : p50 ${fmt(B.p50)}  p95 ${fmt(B.p95)}  p99 ${fmt(B.p99)}   (${B.n} receipts)`);
    log(`  live (/live)      : p50 ${fmt(L.p50)}  p95 ${fmt(L.p95)}  p99 ${fmt(L.p99)}   (${L.n} receipts)`);
    log(`  ratio live/bare   : p50 ${fmt(L.p50 / B.p50, 2)}×  p95 ${fmt(L.p95 / B.p95, 2)}×  p99 ${fmt(L.p99 / B.p99, 2)}×  (goal p99 ≤ ${GOALS.p99Ratio}×: ${L.p99 / B.p99 <= GOALS.p99Ratio ? 'met' : 'NOT met'})`);
    log(`with ${ALERT_RULES} alert rules on the workspace (every metric, mixed filters and windows), the same rounds (ms)`);
    log(`  bare DO broadcast : p50 ${fmt(RB.p50)}  p95 ${fmt(RB.p95)}  p99 ${fmt(RB.p99)}   (${RB.n} receipts)`);
    log(`  live (/live)      : p50 ${fmt(RL.p50)}  p95 ${fmt(RL.p95)}  p99 ${fmt(RL.p99)}   (${RL.n} receipts)`);
    const rulesRatio = RL.p99 / RB.p99;
    log(`  ratio live/bare   : p50 ${fmt(RL.p50 / RB.p50, 2)}×  p95 ${fmt(RL.p95 / RB.p95, 2)}×  p99 ${fmt(rulesRatio, 2)}×  (goal p99 ≤ ${GOALS.rulesP99Ratio}×: ${rulesRatio <= GOALS.rulesP99Ratio ? 'met' : 'NOT met'}); live p99 with rules / without: ${fmt(RL.p99 / L.p99, 2)}×`);
    if (missing) log(`  missing receipts  : ${missing}`);
    log(`sustained load: ${fmt(sent / elapsed, 0)} events/s acknowledged over ${fmt(elapsed)} s (${failed} failed requests)`);
    log(`  messages per subscriber per second: mean ${fmt(meanRate, 2)}, max ${fmt(maxRate, 2)} over ${secs.length} full seconds (goal ≤ ${GOALS.messagesPerSecond}: ${maxRate <= GOALS.messagesPerSecond ? 'met' : 'NOT met'})`);
    for (const s of live) s.terminate();
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
