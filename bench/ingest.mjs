#!/usr/bin/env node
// Ingest throughput as ratios to the same Worker's empty route (/health), measured in the same run,
// and rows written per event over its whole life. `node bench/ingest.mjs [--quick] [--no-dev]`.
import { measure } from './lib/load.mjs';
import { buildBundle, createWorkspace, startMiniflare, startWranglerDev } from './lib/worker.mjs';

const quick = process.argv.includes('--quick');
/** `--no-dev` skips the wrangler dev comparison (faster iterations). */
const withDev = !process.argv.includes('--no-dev');
const SECONDS = quick ? 2 : 8;
const CONCURRENCY = 32;
const BATCH = 100;
const D1_ROWS = 5_000;
const GOALS = { batch: 50, single: 0.7 };
const runId = Date.now().toString(36);
const log = (s = '') => process.stdout.write(`${s}\n`);
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const verdict = (ratio, goal) => `${fmt(ratio, 2)}×  (goal ≥ ${goal}×: ${ratio >= goal ? 'met' : 'NOT met'})`;

let seq = 0;
const event = (prefix) => ({ id: `${prefix}-${runId}-${seq++}`, type: 'bench.event', userId: `u${seq % 500}`, durationMs: seq % 250, properties: { plan: 'pro' } });
const postEvents = (slug, key, body, events, reference) => ({
  method: 'POST',
  path: `/api/v1/workspaces/${slug}/events`,
  headers: {
    authorization: `Bearer ${key}`, 'content-type': 'application/json', 'user-agent': 'edgepulse-bench/1 (X11; Linux x86_64) Chrome/130.0',
    // bench/worker.ts: the production route run with hubs that accept at once (its hub call left out).
    ...(reference ? { 'x-edgepulse-bench': reference } : {}),
  },
  body: JSON.stringify(body),
  events,
});

/**
 * The cases against one running Worker, each sustained for SECONDS (so the outbox drain runs inside
 * the case that caused it). The empty route is measured before and after, and the baseline is their
 * mean, so a drift in the machine's background load shows and is shared fairly.
 *
 * An ingest case's rate counts until its outbox is drained into D1, not only until the last 202: a
 * drain that falls behind would otherwise flatter ingestion with work left for after the case.
 */
async function cases(url, { withSingle = true, withBare = false, settle } = {}) {
  const single = await createWorkspace(url, `bench-single-${runId}`);
  const batch = await createWorkspace(url, `bench-batch-${runId}`);
  const refs = withBare ? await createWorkspace(url, `bench-refs-${runId}`) : undefined;
  const batchOf = (prefix) => ({ events: Array.from({ length: BATCH }, () => event(prefix)) });
  const run = (label, expect, next) => measure({ origin: url, label, seconds: SECONDS, concurrency: CONCURRENCY, expect, next });
  const health = () => ({ method: 'GET', path: '/health' });
  const before = await run('empty route (before)', 200, health);
  // The floor of any route that calls a Durable Object: one bare RPC (no auth, validation or storage).
  const bare = withBare ? await run('bare Durable Object call', 200, () => ({ method: 'POST', path: '/api/v1/bench/broadcast', headers: { 'content-type': 'text/plain' }, body: 'x' })) : undefined;
  const durable = async (label, next) => {
    const acked = await run(label, 202, next);
    // Without a way to see the outbox (wrangler dev): acknowledged events only, then a pause for the drain.
    if (!settle) return { ...acked, ackedPerSecond: acked.eventsPerSecond, lag: undefined, pause: await new Promise((r) => setTimeout(r, 3000)) };
    const start = Date.now();
    await settle();
    const lag = (Date.now() - start) / 1000;
    log(`    ${label}: outbox drained into D1 ${fmt(lag, 1)} s after the last request`);
    return { ...acked, lag, eventsPerSecond: acked.all.events / (acked.all.seconds + lag), ackedPerSecond: acked.eventsPerSecond };
  };
  // The ceiling of any hub: the ingest route's own work without its hub call.
  const halfOne = refs && withSingle ? await run('Worker half, single events', 202, () => postEvents(`bench-refs-${runId}`, refs.ingest, event('h'), 1, 'worker-half')) : undefined;
  const halfMany = refs ? await run(`Worker half, batches of ${BATCH}`, 202, () => postEvents(`bench-refs-${runId}`, refs.ingest, batchOf('h'), BATCH, 'worker-half')) : undefined;
  // D1 alone: the drain's INSERT of raw rows, 5,000 a D1 batch (the drain's largest), two in flight.
  const d1Rows = refs
    ? await measure({
        origin: url, label: `raw rows into D1, ${D1_ROWS} a batch`, seconds: SECONDS, concurrency: 2, expect: 200,
        next: () => ({ method: 'POST', path: '/api/v1/bench/d1-rows', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: batchOf('d').events, copies: D1_ROWS / BATCH }), events: D1_ROWS }),
      })
    : undefined;
  const one = withSingle ? await durable('single events', () => postEvents(`bench-single-${runId}`, single.ingest, event('s'), 1)) : undefined;
  const many = await durable(`batches of ${BATCH}`, () => postEvents(`bench-batch-${runId}`, batch.ingest, batchOf('b'), BATCH));
  const after = await run('empty route (after)', 200, health);
  const empty = { requestsPerSecond: (before.requestsPerSecond + after.requestsPerSecond) / 2, before: before.requestsPerSecond, after: after.requestsPerSecond };
  return { empty, bare, halfOne, halfMany, d1Rows, one, many };
}

const TRICKLE_EVERY_MS = 50;
const TRICKLE_SECONDS = quick ? 4 : 8;

/** Low traffic, where each drain carries few events: one single-event request every TRICKLE_EVERY_MS. */
async function trickle(url) {
  const ws = await createWorkspace(url, `bench-trickle-${runId}`);
  for (const end = Date.now() + TRICKLE_SECONDS * 1000; Date.now() < end; await new Promise((r) => setTimeout(r, TRICKLE_EVERY_MS))) {
    const req = postEvents(`bench-trickle-${runId}`, ws.ingest, event('t'), 1);
    const res = await fetch(`${url}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
    if (res.status !== 202) throw new Error(`trickle: ${res.status} ${await res.text()}`);
  }
}

/** Rows written per event in the hub and in D1, after the outbox is drained, plus retention's share. */
async function rowsPerEvent(worker, slug) {
  const row = await worker.db.prepare('SELECT id FROM workspaces WHERE slug = ?').bind(slug).first();
  const hub = await worker.hub(row.id);
  const left = await hub.flush();
  const usage = await hub.usage();
  // Every acknowledged event (warm-up included) is in D1 exactly once after the flush: that is the divisor.
  const events = (await worker.db.prepare('SELECT count(*) AS n FROM events WHERE workspace_id = ?').bind(row.id).first()).n;
  // Retention as it runs today: a DELETE of the workspace's raw rows (and its drain log); measured here by running it.
  const del = await worker.db.prepare('DELETE FROM events WHERE workspace_id = ?').bind(row.id).run();
  const delLog = await worker.db.prepare('DELETE FROM drain_log WHERE workspace_id = ?').bind(row.id).run();
  return {
    events, left,
    hub: usage.rowsWritten / events,
    d1: usage.d1RowsWritten / events,
    retention: (del.meta.rows_written + delLog.meta.rows_written) / events,
  };
}

async function main() {
  log(`edgepulse ingest benchmark (${quick ? 'quick: ' : ''}${SECONDS} s per case ${CONCURRENCY} clients in flight)`);
  log('building the bench entry Worker, bench/worker.ts (wrangler deploy --dry-run)…');
  const bundle = buildBundle();
  let worker;
  try {
    log('starting it in Miniflare (one process, no proxy, logging off)…');
    worker = await startMiniflare(bundle.scriptPath);
    const w = worker;
    const settle = async () => {
      const rows = (await w.db.prepare("SELECT id FROM workspaces WHERE slug LIKE 'bench-%'").all()).results;
      const hubs = await Promise.all(rows.map((row) => w.hub(row.id)));
      for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const pending = (await Promise.all(hubs.map(async (h) => (await h.usage()).pendingBatches))).reduce((a, b) => a + b, 0);
        if (pending === 0) return;
      }
    };
    const r = await cases(worker.url, { settle, withBare: true });
    log(`a trickle, as a small site sends: one event every ${TRICKLE_EVERY_MS} ms for ${TRICKLE_SECONDS} s…`);
    await trickle(worker.url);
    log('measuring rows written per event (draining the outboxes)…');
    const rowsSingle = await rowsPerEvent(worker, `bench-single-${runId}`);
    const rowsBatch = await rowsPerEvent(worker, `bench-batch-${runId}`);
    const rowsTrickle = await rowsPerEvent(worker, `bench-trickle-${runId}`);
    await worker.stop();
    worker = undefined;

    let d;
    if (withDev) {
      log('the same through wrangler dev (proxy in front, for comparison)…');
      const dev = await startWranglerDev();
      try {
        d = await cases(dev.url, { withSingle: false });
      } finally {
        await dev.stop();
      }
    }

    const base = r.empty.requestsPerSecond;
    log('');
    log('Results: Miniflare (workerd, one process)');
    log(`  empty route (/health)        ${fmt(base).padStart(8)} req/s   (mean of ${fmt(r.empty.before)} before and ${fmt(r.empty.after)} after)`);
    const us = (perSecond) => fmt(1e6 / perSecond, 1).padStart(6);
    log(`  single-event POSTs           ${fmt(r.one.eventsPerSecond).padStart(8)} events/s   ${verdict(r.one.eventsPerSecond / base, GOALS.single)}`);
    log(`  batches of ${BATCH}              ${fmt(r.many.eventsPerSecond).padStart(8)} events/s   ${verdict(r.many.eventsPerSecond / base, GOALS.batch)}`);
    log(`  (events acknowledged and drained into D1, per second from the case's first request, warm-up included, until its outbox was empty; acknowledged alone: single ${fmt(r.one.ackedPerSecond)}/s, batches ${fmt(r.many.ackedPerSecond)}/s in ${fmt(r.many.requestsPerSecond)} req/s; drain lag ${fmt(r.one.lag, 1)} s and ${fmt(r.many.lag, 1)} s)`);
    log('');
    log('Ceilings in the same run: parts of an ingest request on their own (bench/worker.ts, the bench entry around the production app)');
    log(`  bare DO call                 ${fmt(r.bare.requestsPerSecond).padStart(8)} req/s      ${fmt(r.bare.requestsPerSecond / base, 2)}×  (one RPC to a Durable Object that does nothing)`);
    log(`  Worker half, single events   ${fmt(r.halfOne.eventsPerSecond).padStart(8)} events/s   ${fmt(r.halfOne.eventsPerSecond / base, 2)}×  (auth, parse, validate, enrich; no hub call)`);
    log(`  Worker half, batches of ${BATCH} ${fmt(r.halfMany.eventsPerSecond).padStart(8)} events/s   ${fmt(r.halfMany.eventsPerSecond / base, 1)}×`);
    log(`  raw rows into D1 alone       ${fmt(r.d1Rows.eventsPerSecond).padStart(8)} rows/s     ${fmt(r.d1Rows.eventsPerSecond / base, 1)}×  (the drain's INSERT, ${fmt(D1_ROWS)} rows a D1 batch; no Worker half, hub or rollups)`);
    log('');
    log('Time per event at saturation (µs; workerd runs the Worker, its Durable Objects and D1 on one thread)');
    log(`  empty request ${us(base)}   single: Worker half ${us(r.halfOne.eventsPerSecond)}, whole ${us(r.one.eventsPerSecond)}   goal ≤ ${us(base * GOALS.single)}`);
    log(`  batched: Worker half ${us(r.halfMany.eventsPerSecond)}, a raw row into D1 ${us(r.d1Rows.eventsPerSecond)}, whole ${us(r.many.eventsPerSecond)}   goal ≤ ${us(base * GOALS.batch)}`);
    log('');
    log('Rows written per event over its life (after the outbox drained)');
    for (const [name, x] of [['single events', rowsSingle], [`batches of ${BATCH}`, rowsBatch], [`trickle ${1000 / TRICKLE_EVERY_MS}/s`, rowsTrickle]]) {
      log(`  ${name.padEnd(16)} hub ${fmt(x.hub, 3)}  +  D1 ${fmt(x.d1, 3)}  +  retention ${fmt(x.retention, 3)}  =  ${fmt(x.hub + x.d1 + x.retention, 3)}   (over ${fmt(x.events)} events${x.left ? `; ${x.left} outbox batches NOT drained` : ''})`);
    }
    log('  hub: DO cursor rowsWritten (hub.usage()); D1: meta.rows_written summed by the drain (usage().d1RowsWritten);');
    log('  retention: meta.rows_written of running DELETE FROM events / drain_log WHERE workspace_id = ? once, per event.');
    log('  The hub\'s de-duplication records leave by dropping a whole day\'s table (not measured: about 0 per event).');
    log('');
    if (d) log(`wrangler dev: empty route ${fmt(d.empty.requestsPerSecond)} req/s; batches of ${BATCH} ${fmt(d.many.eventsPerSecond)} events/s (${fmt(d.many.eventsPerSecond / d.empty.requestsPerSecond, 1)}× its empty route; acknowledged, drain not awaited)`);
  } finally {
    await worker?.stop();
    bundle.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
