#!/usr/bin/env node
// Ingest throughput, counted until the events are archived, as ratios to references measured in the
// same run; the time per event of each stage measured on its own; rows written and dollars per
// million events over an event's whole life. `node bench/ingest.mjs [--quick] [--no-dev]`.
import { dollarsPerMillion } from './lib/costs.mjs';
import { lifeOf } from './lib/life.mjs';
import { measure } from './lib/load.mjs';
import { caseStages, stageMicros } from './lib/stages.mjs';
import { buildBundle, createWorkspace, startMiniflare, startWranglerDev } from './lib/worker.mjs';
import { Agent, setGlobalDispatcher } from 'undici';

// Control requests (workspaces, stages, the trickle) on fresh connections: a kept-alive socket that workerd
// closed while a long stage ran was reset under the next request. The load itself has its own pools (lib/load.mjs).
setGlobalDispatcher(new Agent({ pipelining: 0 }));

const quick = process.argv.includes('--quick');
/** `--no-dev` skips the wrangler dev comparison (faster iterations). */
const withDev = !process.argv.includes('--no-dev');
const SECONDS = quick ? 2 : 8;
const CONCURRENCY = 32;
const BATCH = 100;
const GOALS = { singleOfFloor: 0.85, batchOfEmpty: 15, rowsBatch: 1.2, rowsTrickle: 3.0, dollarsBatch: 1.5, dollarsSingle: 3.5 };
const runId = Date.now().toString(36);
const log = (s = '') => process.stdout.write(`${s}\n`);
const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const met = (ok) => (ok ? 'met' : 'NOT met');
const us = (perSecond) => 1e6 / perSecond;

let seq = 0;
const event = (prefix) => ({ id: `${prefix}-${runId}-${seq++}`, type: 'bench.event', userId: `u${seq % 500}`, durationMs: seq % 250, properties: { plan: 'pro' } });
const eventsOf = (prefix) => (n) => Array.from({ length: n }, () => event(prefix));
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
 * An ingest case's rate counts until its outbox is drained (archived in R2, rollups in D1), not only
 * until the last 202: a drain that falls behind would otherwise flatter ingestion with work left for after.
 */
async function cases(url, { withSingle = true, withRefs = false, settle } = {}) {
  const single = await createWorkspace(url, `bench-single-${runId}`);
  const batch = await createWorkspace(url, `bench-batch-${runId}`);
  const refs = withRefs ? await createWorkspace(url, `bench-refs-${runId}`) : undefined;
  const batchOf = (prefix) => ({ events: eventsOf(prefix)(BATCH) });
  const run = (label, expect, next) => measure({ origin: url, label, seconds: SECONDS, concurrency: CONCURRENCY, expect, next });
  const health = () => ({ method: 'GET', path: '/health' });
  const before = await run('empty route (before)', 200, health);
  // The floor of any route that calls a Durable Object, as a route: one bare RPC (no auth, validation or storage).
  const bare = withRefs ? await run('bare Durable Object call', 200, () => ({ method: 'POST', path: '/api/v1/bench/broadcast', headers: { 'content-type': 'text/plain' }, body: 'x' })) : undefined;
  const durable = async (label, next) => {
    const acked = await run(label, 202, next);
    // Without a way to see the outbox (wrangler dev): acknowledged events only, then a pause for the drain.
    if (!settle) return { ...acked, ackedPerSecond: acked.eventsPerSecond, lag: undefined, pause: await new Promise((r) => setTimeout(r, 3000)) };
    const start = Date.now();
    await settle();
    const lag = (Date.now() - start) / 1000;
    log(`    ${label}: outbox archived and drained ${fmt(lag, 1)} s after the last request`);
    return { ...acked, lag, eventsPerSecond: acked.all.events / (acked.all.seconds + lag), ackedPerSecond: acked.eventsPerSecond };
  };
  // The ceiling of any hub: the ingest route's own work without its hub call.
  const halfOne = refs && withSingle ? await run('Worker half, single events', 202, () => postEvents(`bench-refs-${runId}`, refs.ingest, event('h'), 1, 'worker-half')) : undefined;
  const halfMany = refs ? await run(`Worker half, batches of ${BATCH}`, 202, () => postEvents(`bench-refs-${runId}`, refs.ingest, batchOf('h'), BATCH, 'worker-half')) : undefined;
  const one = withSingle ? await durable('single events', () => postEvents(`bench-single-${runId}`, single.ingest, event('s'), 1)) : undefined;
  const many = await durable(`batches of ${BATCH}`, () => postEvents(`bench-batch-${runId}`, batch.ingest, batchOf('b'), BATCH));
  const after = await run('empty route (after)', 200, health);
  const empty = { requestsPerSecond: (before.requestsPerSecond + after.requestsPerSecond) / 2, before: before.requestsPerSecond, after: after.requestsPerSecond };
  return { empty, bare, halfOne, halfMany, one, many };
}

const TRICKLE_EVERY_MS = 50;
const TRICKLE_SECONDS = quick ? 4 : 8;

/** Low traffic, where each drain carries few events: one single-event request every TRICKLE_EVERY_MS; the events sent and the mean time to the 202. */
async function trickle(url) {
  const ws = await createWorkspace(url, `bench-trickle-${runId}`);
  let sent = 0;
  let waited = 0;
  for (const end = Date.now() + TRICKLE_SECONDS * 1000; Date.now() < end; await new Promise((r) => setTimeout(r, TRICKLE_EVERY_MS))) {
    const req = postEvents(`bench-trickle-${runId}`, ws.ingest, event('t'), 1);
    const start = performance.now();
    const res = await fetch(`${url}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
    if (res.status !== 202) throw new Error(`trickle: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    waited += performance.now() - start;
    sent++;
  }
  return { events: sent, ackMs: waited / sent, seconds: TRICKLE_SECONDS, eventsPerSecond: sent / TRICKLE_SECONDS };
}

/** A workspace of its own for a case's stages (the drain's D1 batch writes its rollups there). */
async function stageWorkspace(worker, name) {
  const slug = `bench-stages-${name}-${runId}`;
  await createWorkspace(worker.url, slug);
  const row = await worker.db.prepare('SELECT id, slug, timezone FROM workspaces WHERE slug = ?').bind(slug).first();
  return { id: row.id, slug: row.slug, timezone: row.timezone };
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
    const r = await cases(worker.url, { settle, withRefs: true });
    log(`a trickle, as a small site sends: one event every ${TRICKLE_EVERY_MS} ms for ${TRICKLE_SECONDS} s…`);
    const t = await trickle(worker.url);
    log('measuring each event\'s life: rows written, archive objects, drains (draining the outboxes)…');
    const life = {
      single: await lifeOf(worker, `bench-single-${runId}`, r.one.all.events),
      batch: await lifeOf(worker, `bench-batch-${runId}`, r.many.all.events),
      trickle: await lifeOf(worker, `bench-trickle-${runId}`, t.events),
    };
    log('measuring each stage on its own (bench/stages.ts), with each case\'s request and drain sizes…');
    const drainSize = (l) => Math.max(1, Math.round(l.archived / Math.max(1, l.drains)));
    const hubTotal = quick ? 2_000 : 10_000;
    const drainTotal = quick ? 10_000 : 40_000;
    const refsWs = await stageWorkspace(worker, 'bare');
    const bareMicros = await stageMicros(worker.url, refsWs, 'bare', { size: 1, total: quick ? 2_000 : 10_000, inFlight: CONCURRENCY, make: eventsOf('x') });
    const stages = {
      single: await caseStages(worker.url, await stageWorkspace(worker, 'single'), { requestSize: 1, inFlight: CONCURRENCY, drainSize: drainSize(life.single), hubTotal, drainTotal, make: eventsOf('xs') }),
      batch: await caseStages(worker.url, await stageWorkspace(worker, 'batch'), { requestSize: BATCH, inFlight: CONCURRENCY, drainSize: drainSize(life.batch), hubTotal: hubTotal * 10, drainTotal, make: eventsOf('xb') }),
      trickle: await caseStages(worker.url, await stageWorkspace(worker, 'trickle'), { requestSize: 1, inFlight: 1, drainSize: drainSize(life.trickle), hubTotal: quick ? 100 : 400, drainTotal: quick ? 200 : 1_000, make: eventsOf('xt') }),
    };
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
    report({ r, t, life, stages, bareMicros, drainSize, d });
  } finally {
    await worker?.stop();
    bundle.cleanup();
  }
}

function report({ r, t, life, stages, bareMicros, drainSize, d }) {
  const base = r.empty.requestsPerSecond;
  const floorOne = us(r.halfOne.eventsPerSecond) + bareMicros;
  const floorMany = us(r.halfMany.eventsPerSecond) + bareMicros / BATCH;
  const singleOfFloor = floorOne / us(r.one.eventsPerSecond);
  const batchOfEmpty = r.many.eventsPerSecond / base;
  log('');
  log('Results: Miniflare (workerd, one process)');
  log(`  empty route (/health)        ${fmt(base).padStart(8)} req/s   (mean of ${fmt(r.empty.before)} before and ${fmt(r.empty.after)} after)`);
  log(`  single-event POSTs           ${fmt(r.one.eventsPerSecond).padStart(8)} events/s   ${fmt(singleOfFloor, 2)}× the composed floor (goal ≥ ${GOALS.singleOfFloor}×: ${met(singleOfFloor >= GOALS.singleOfFloor)}); ${fmt(r.one.eventsPerSecond / base, 2)}× the empty route`);
  log(`  batches of ${BATCH}              ${fmt(r.many.eventsPerSecond).padStart(8)} events/s   ${fmt(batchOfEmpty, 2)}× the empty route (goal ≥ ${GOALS.batchOfEmpty}×: ${met(batchOfEmpty >= GOALS.batchOfEmpty)})`);
  log(`  (events acknowledged and drained — archived in R2, rollups in D1 — per second from the case's first request, warm-up included, until its outbox was empty;`);
  log(`   acknowledged alone: single ${fmt(r.one.ackedPerSecond)}/s, batches ${fmt(r.many.ackedPerSecond)}/s in ${fmt(r.many.requestsPerSecond)} req/s; drain lag ${fmt(r.one.lag, 1)} s and ${fmt(r.many.lag, 1)} s)`);
  log('');
  log('Ceilings in the same run (bench/worker.ts, the bench entry around the production app)');
  log(`  bare DO call as a route      ${fmt(r.bare.requestsPerSecond).padStart(8)} req/s      ${fmt(r.bare.requestsPerSecond / base, 2)}×  (one RPC to a Durable Object that does nothing)`);
  log(`  Worker half, single events   ${fmt(r.halfOne.eventsPerSecond).padStart(8)} events/s   ${fmt(r.halfOne.eventsPerSecond / base, 2)}×  (auth, parse, validate, enrich; no hub call)`);
  log(`  Worker half, batches of ${BATCH} ${fmt(r.halfMany.eventsPerSecond).padStart(8)} events/s   ${fmt(r.halfMany.eventsPerSecond / base, 1)}×`);
  log('');
  log('Time per event by stage (µs; each measured on its own, bench/stages.ts; workerd runs the Worker, its objects, D1 and R2 on one thread)');
  log('  Worker half: the route up to the hub call, under load (from the ceilings above). Hub call: the ingest RPC (de-dup, outbox commit,');
  log(`  live state: the 202's wait), ${CONCURRENCY} in flight. Hub commit: the same ingest called inside the hub (no RPC). Archive write: one`);
  log('  drain\'s Parquet encode + R2 put, drains of the case\'s mean size. Drain D1 batch: the drain\'s rollups, sessions and drain log');
  log('  (and raw rows while the drain still writes them to D1). Composed floor: Worker half + a bare DO call (measured the same way).');
  log(`  ${'case'.padEnd(16)}${['Worker half', 'hub call', 'hub commit', 'archive', 'drain D1', 'floor', 'whole'].map((h) => h.padStart(12)).join('')}   drain size`);
  const rows = [
    ['single events', us(r.halfOne.eventsPerSecond), stages.single, floorOne, us(r.one.eventsPerSecond), life.single],
    [`batches of ${BATCH}`, us(r.halfMany.eventsPerSecond), stages.batch, floorMany, us(r.many.eventsPerSecond), life.batch],
    [`trickle ${1000 / TRICKLE_EVERY_MS}/s`, us(r.halfOne.eventsPerSecond), stages.trickle, floorOne, undefined, life.trickle],
  ];
  for (const [name, half, s, floor, whole, l] of rows) {
    log(`  ${name.padEnd(16)}${[half, s.hubCall, s.hubCommit, s.archive, s.drainD1, floor, whole].map((x) => fmt(x, 1).padStart(12)).join('')}   ${fmt(drainSize(l))} events`);
  }
  log(`  bare DO call ${fmt(bareMicros, 1)} µs; trickle: the 202 came ${fmt(t.ackMs, 1)} ms after the request (mean, one request at a time)`);
  const dominant = (name, s, half) => {
    const parts = { 'Worker half': half, 'hub call': s.hubCall, 'archive write': s.archive, 'drain D1 batch': s.drainD1 };
    const [top, micros] = Object.entries(parts).sort((a, b) => b[1] - a[1])[0];
    return `${name}: ${top} dominates (${fmt(micros, 1)} µs of ${fmt(Object.values(parts).reduce((a, b) => a + b, 0), 1)} µs per event)`;
  };
  if (singleOfFloor < GOALS.singleOfFloor) log(`  goal missed — ${dominant('single events', stages.single, us(r.halfOne.eventsPerSecond))}`);
  if (batchOfEmpty < GOALS.batchOfEmpty) log(`  goal missed — ${dominant(`batches of ${BATCH}`, stages.batch, us(r.halfMany.eventsPerSecond))}`);
  log('');
  log('Rows written per event over its life (after the outbox drained)');
  const cases = [
    ['single events', life.single, 1, r.one.all.seconds + r.one.lag, r.one.eventsPerSecond, GOALS.dollarsSingle, undefined],
    [`batches of ${BATCH}`, life.batch, 1 / BATCH, r.many.all.seconds + r.many.lag, r.many.eventsPerSecond, GOALS.dollarsBatch, GOALS.rowsBatch],
    [`trickle ${1000 / TRICKLE_EVERY_MS}/s`, life.trickle, 1, t.seconds, t.eventsPerSecond, undefined, GOALS.rowsTrickle],
  ];
  for (const [name, x, , , , , goal] of cases) {
    const total = x.hub + x.d1 + x.retention;
    const top = Object.entries({ hub: x.hub, D1: x.d1, retention: x.retention }).sort((a, b) => b[1] - a[1])[0][0];
    const verdict = goal === undefined ? '' : `   goal ≤ ${goal}: ${met(total <= goal)}${total <= goal ? '' : ` (${top} dominates)`}`;
    log(`  ${name.padEnd(16)} hub ${fmt(x.hub, 3)}  +  D1 ${fmt(x.d1, 3)}  +  retention ${fmt(x.retention, 3)}  =  ${fmt(total, 3)}${verdict}`);
    const lost = x.archived === x.acked ? 'every one' : `${fmt(x.archived)} — NOT all`;
    log(`  ${''.padEnd(16)} (${fmt(x.acked)} events acknowledged, ${lost} in the archive; ${fmt(x.drains)} drains, ${fmt(x.objects)} objects, ${fmt(x.puts)} puts${x.left ? `; ${x.left} outbox batches NOT drained` : ''})`);
  }
  log('  hub: DO cursor rowsWritten (hub.usage(), de-dup records, outbox insert and delete, live snapshot); D1: meta.rows_written');
  log('  summed by the drain; retention: meta.rows_written of DELETE FROM events / drain_log WHERE workspace_id = ? run once.');
  log('  The hub\'s de-duplication records leave by dropping a whole day\'s table, the archive by R2 deletes (free): about 0 per event.');
  log('');
  log('Dollars per million events at list prices (Workers $0.30/M requests, DO $0.15/M requests + $12.50/M GB-s at 128 MB,');
  log('rows written $1/M, R2 Class A $4.50/M, Class B $0.36/M; DO duration estimated as the case\'s wall time, the hub never idle)');
  for (const [name, x, requests, seconds, rate, goal] of cases) {
    const bill = dollarsPerMillion({
      requests, hubCalls: requests, drains: x.drains / x.acked, rows: x.hub + x.d1 + x.retention, puts: x.puts / x.acked,
      activeSeconds: seconds / x.acked, eventsPerHour: rate * 3600,
    });
    const verdict = goal === undefined ? '' : `   goal ≤ $${goal}: ${met(bill.total <= goal)}${bill.total <= goal ? '' : ` (${bill.dominant} dominates)`}`;
    log(`  ${name.padEnd(16)} $${fmt(bill.total, 2)}${verdict}`);
    log(`  ${''.padEnd(16)} ${Object.entries(bill.lines).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ')}`);
  }
  log('');
  if (d) log(`wrangler dev: empty route ${fmt(d.empty.requestsPerSecond)} req/s; batches of ${BATCH} ${fmt(d.many.eventsPerSecond)} events/s (${fmt(d.many.eventsPerSecond / d.empty.requestsPerSecond, 1)}× its empty route; acknowledged, drain not awaited)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
