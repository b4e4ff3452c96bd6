#!/usr/bin/env node
// How long one D1 database lasts, and what R2 holds per event: 1,000,000 events spread over the last
// 24 hours (20,000 users, 10 types, 50 rooms, 40 countries, 3 rollup properties) sent in batches of
// 500 through the real ingest route of the bench entry Worker (Miniflare, storage on disk), drained,
// compacted by the cron; then the D1 bytes added (dbstat, per table) and the R2 objects (listed).
// `npm run bench:capacity [-- --quick]` (--quick: 100,000 events).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { LIMITS } from '../src/shared/limits.ts';
import { buildBundle, createWorkspace, startMiniflare } from './lib/worker.mjs';
import { d1RowCounts, d1TableBytes, listObjects } from './lib/storage.mjs';
import { ROLLUP_PROPERTIES, traffic, USERS } from './lib/traffic.mjs';

const QUICK = process.argv.includes('--quick');
const N = Number(process.env.BENCH_N ?? (QUICK ? 100_000 : 1_000_000));
const BATCH = LIMITS.batchMaxEvents;
const IN_FLIGHT = 4;
const DAY = 86_400_000;
/** One D1 database's size limit (Cloudflare: 10 GB). */
const D1_LIMIT = 10e9;
const GOALS = { years: 3, r2BytesPerEvent: 80 };

const t0 = Date.now();
const log = (s = '') => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mb = (bytes) => `${fmt(bytes / 1e6, 2)} MB`;

const source = traffic(11);
/** Event n of N: timestamps spread evenly over [start, start + DAY). */
const eventAt = (n, start) => source.input(start + Math.floor((n * DAY) / N));

/**
 * fetch, sent again when the connection breaks: workerd may close a kept-alive connection just as it
 * is reused (ECONNRESET, "other side closed"). A client sends again; event ids de-duplicate.
 */
async function request(url, init, onRetry = () => {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (attempt >= 5) throw err;
      onRetry();
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}

async function send(url, slug, key, start) {
  let next = 0;
  let sent = 0;
  let resent = 0;
  let lastLog = Date.now();
  const began = Date.now();
  const worker = async () => {
    for (;;) {
      const from = next;
      if (from >= N) return;
      next = Math.min(N, from + BATCH);
      const events = [];
      for (let n = from; n < next; n++) events.push(eventAt(n, start));
      const body = JSON.stringify({ events });
      for (let attempt = 0; ; attempt++) {
        const res = await request(`${url}/api/v1/workspaces/${slug}/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'user-agent': 'edgepulse-bench/1 capacity' },
          body,
        }, () => resent++);
        if (res.status === 202) {
          await res.body?.cancel();
          break;
        }
        const text = await res.text();
        // The hub sheds load with 429/503 when its outbox is full: wait as a real client would, and send again (ids de-duplicate).
        if ((res.status === 429 || res.status === 503) && attempt < 50) {
          await new Promise((r) => setTimeout(r, Math.min(5000, Number(res.headers.get('retry-after') ?? 1) * 1000)));
          continue;
        }
        throw new Error(`ingest: ${res.status} ${text.slice(0, 300)}`);
      }
      sent += events.length;
      if (Date.now() - lastLog >= 5000 || sent === N) {
        lastLog = Date.now();
        const s = (Date.now() - began) / 1000;
        log(`  sent ${fmt(sent)} / ${fmt(N)} events (${fmt((100 * sent) / N, 0)}%, ${fmt(sent / s)} events/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  if (resent) log(`  ${resent} requests sent again after a connection reset`);
  return (Date.now() - began) / 1000;
}

/** The workspace's Prometheus gauges (GET …/metrics): the outbox as operators watch it. */
async function gauges(url, slug, key) {
  const res = await request(`${url}/api/v1/workspaces/${slug}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`metrics: ${res.status} ${text.slice(0, 200)}`);
  const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { outboxBatches: value('edgepulse_outbox_batches'), drainFailures: value('edgepulse_drain_failures') };
}

/** Until the hub's outbox is empty (edgepulse_outbox_batches = 0). */
async function drained(url, slug, key) {
  const began = Date.now();
  let lastLog = 0;
  for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const g = await gauges(url, slug, key);
    if (g.outboxBatches === 0) return (Date.now() - began) / 1000;
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      log(`  outbox: ${fmt(g.outboxBatches)} batches waiting${g.drainFailures ? `, ${g.drainFailures} failed drains in a row` : ''}`);
    }
  }
  throw new Error('the outbox did not drain within 30 minutes');
}

/** The cron, as Cloudflare runs it (Miniflare's scheduled trigger), at `time`. */
async function cron(url, time) {
  const res = await request(`${url}/cdn-cgi/handler/scheduled?time=${time}`);
  if (res.status !== 200) log(`  cron at ${new Date(time).toISOString()}: ${res.status} ${await res.text()}`);
}

/** The archive's objects, and which of them readers read: a compacted file plus the parts it does not cover (covered parts await deletion). */
async function archiveState(bucket) {
  const objects = await listObjects(bucket);
  const covered = new Set();
  let compacted = 0;
  for (const o of objects) {
    if (!o.key.endsWith('/compacted.parquet')) continue;
    compacted++;
    const body = await (await bucket.get(o.key)).arrayBuffer();
    const kv = parquetMetadata(body).key_value_metadata ?? [];
    const covers = kv.find((x) => x.key === 'edgepulse.covers');
    const dir = o.key.slice(0, o.key.lastIndexOf('/') + 1);
    for (const part of covers ? JSON.parse(covers.value) : []) covered.add(`${dir}${String(part).replace(/\.parquet$/, '')}.parquet`);
  }
  const live = objects.filter((o) => !covered.has(o.key));
  const hours = new Set(objects.map((o) => o.key.slice(0, o.key.lastIndexOf('/'))));
  return {
    objects: objects.length,
    bytes: objects.reduce((s, o) => s + o.size, 0),
    liveObjects: live.length,
    liveBytes: live.reduce((s, o) => s + o.size, 0),
    compacted,
    hours: hours.size,
  };
}

/** Keeps running the cron until the archive stops changing (compaction may work in bounded steps). */
async function compact(url, bucket, time, label) {
  let before = await archiveState(bucket);
  for (let run = 1; run <= 60; run++) {
    const began = Date.now();
    await cron(url, time);
    const after = await archiveState(bucket);
    log(`  cron ${label} #${run} (${fmt((Date.now() - began) / 1000, 1)} s): ${fmt(after.objects)} objects in ${after.hours} hour partitions, ${after.compacted} compacted, ${mb(after.bytes)}`);
    if (after.objects === before.objects && after.bytes === before.bytes && after.compacted === before.compacted) return after;
    before = after;
  }
  return before;
}

/** How long each D1 table's rows live (days), for the steady state; null = as long as the workspace. */
function lifetimeDays(table, retentionDays) {
  if (table === 'rollups (minute)') return LIMITS.minuteRollupHours / 24;
  if (table === 'rollups (hour)') return LIMITS.hourRollupDays;
  // Day rows live until their local month is older than dayRollupDays (half a month longer on average), then merge into month rows.
  if (table === 'rollups (day)') return LIMITS.dayRollupDays + 15;
  // Per-user daily rollups go with the raw retention (retention.ts), like the raw events they summarize.
  if (table === 'events' || table === 'user_rollups') return retentionDays;
  if (table === 'drain_log') return 8;
  return null;
}

async function main() {
  log(`edgepulse capacity benchmark: ${fmt(N)} events over 24 hours of timestamps, ${fmt(USERS)} users, batches of ${BATCH}${QUICK ? ' (quick)' : ''}`);
  log('building the bench entry Worker (wrangler deploy --dry-run of bench/wrangler.toml)…');
  const bundle = buildBundle();
  const dir = mkdtempSync(join(tmpdir(), 'edgepulse-bench-capacity-'));
  const d1Persist = join(dir, 'd1');
  let worker;
  try {
    worker = await startMiniflare(bundle.scriptPath, { d1Persist, r2Persist: join(dir, 'r2'), durableObjectsPersist: join(dir, 'do'), unsafeTriggerHandlers: true, ...(process.env.BENCH_LOG ? { log: new (await import('miniflare')).Log() } : {}) });
    const slug = `capacity-${Date.now().toString(36)}`;
    const keys = await createWorkspace(worker.url, slug);
    const ws = await worker.db.prepare('SELECT id, retention_days AS retentionDays FROM workspaces WHERE slug = ?').bind(slug).first();
    const patch = await fetch(`${worker.url}/api/v1/workspaces/${slug}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rollupProperties: ROLLUP_PROPERTIES }),
    });
    const rollupPropertiesSet = patch.status === 200;
    log(rollupPropertiesSet ? `rollupProperties: ${ROLLUP_PROPERTIES.join(', ')}` : `PATCH rollupProperties answered ${patch.status} (${(await patch.text()).slice(0, 160)}): going on without rollup properties`);
    const bucket = await worker.bucket();
    const d1Before = d1TableBytes(d1Persist);
    const r2Before = await archiveState(bucket);

    const now = Date.now();
    // The last 24 hours, ending a minute ago (the ingest route only refuses timestamps more than 5 minutes ahead).
    const start = now - DAY - 60_000;
    log(`sending ${fmt(N)} events (${IN_FLIGHT} requests in flight)…`);
    const sendSeconds = await send(worker.url, slug, keys.ingest, start);
    log('waiting until the outbox is drained…');
    const drainSeconds = await drained(worker.url, slug, keys.admin);
    const drainedState = await archiveState(bucket);
    log(`  drained ${fmt(drainSeconds, 1)} s after the last request: ${fmt(drainedState.objects)} archive objects, ${mb(drainedState.bytes)}`);
    log('compacting: the cron, now, until the archive stops changing…');
    await compact(worker.url, bucket, Date.now(), 'now');
    // D1 as the day leaves it (before later crons prune minute rollups by the clock).
    const d1After = d1TableBytes(d1Persist);
    const rows = d1RowCounts(d1Persist, Object.keys(d1After.tables));
    log('the cron a day later (the current hour closes; covered parts past their grace period go)…');
    const r2After = await compact(worker.url, bucket, Date.now() + DAY, '+1 day');
    const totalSeconds = (Date.now() - t0) / 1000;

    // D1: bytes added per table, what lives forever vs. what retention bounds.
    const added = {};
    for (const [t, b] of Object.entries(d1After.tables)) added[t] = b - (d1Before.tables[t] ?? 0);
    if (d1Before.tables.rollups) {
      // The empty rollups table's pages (before) are shared by the grains after: take them off the largest.
      const biggest = Object.keys(added).filter((t) => t.startsWith('rollups (')).sort((a, b) => added[b] - added[a])[0];
      if (biggest) added[biggest] -= d1Before.tables.rollups;
    }
    const d1Added = Object.values(added).reduce((s, b) => s + b, 0);
    let growingPerDay = 0;
    let boundedStock = 0;
    log('');
    log(`D1 bytes added by one day of this traffic (${d1After.note}):`);
    log('  table                          rows        bytes   bytes/event   kept          stock at steady state');
    for (const [t, b] of Object.entries(added).sort((x, y) => y[1] - x[1])) {
      if (b <= 0 && !rows[t]) continue;
      const life = lifetimeDays(t, ws.retentionDays);
      if (life === null) growingPerDay += b;
      else boundedStock += b * life;
      const kept = life === null ? 'forever' : `${fmt(life, life < 1 ? 1 : 0)} days`;
      log(`  ${t.padEnd(28)} ${fmt(rows[t] ?? 0).padStart(9)} ${fmt(b).padStart(12)}   ${fmt(b / N, 1).padStart(9)}   ${kept.padEnd(12)}  ${life === null ? `grows ${mb(b)}/day` : mb(b * life)}`);
    }
    // Month rows: a month keeps one row per (type, dimension, key) it had; with this traffic every day has the
    // same keys and dense sketches, so a month's rows weigh about what one day's day rows weigh.
    const monthPerDay = (added['rollups (day)'] ?? 0) / 30.44;
    growingPerDay += monthPerDay;
    log(`  ${'rollups (month), estimated'.padEnd(28)} ${''.padStart(9)} ${fmt(monthPerDay).padStart(12)}   ${fmt(monthPerDay / N, 1).padStart(9)}   ${'forever'.padEnd(12)}  grows ${mb(monthPerDay)}/day (a day's day rows per month)`);
    if (rows.events) log(`  (the D1 events table holds ${fmt(rows.events)} raw rows: the drain still inserts them on this build; the archive era removes that insert)`);
    const yearsNaive = D1_LIMIT / d1Added / 365.25;
    const yearsSteady = growingPerDay > 0 ? Math.max(0, D1_LIMIT - boundedStock) / growingPerDay / 365.25 : Infinity;

    const r2PerEvent = r2After.liveBytes / N;
    log('');
    log(`R2 archive: ${fmt(r2After.liveObjects)} objects read by readers (${r2After.compacted} compacted, in ${r2After.hours} hour partitions), ${mb(r2After.liveBytes)}; listed in all: ${fmt(r2After.objects)} objects, ${mb(r2After.bytes)}${r2After.objects > r2After.liveObjects ? ' (covered parts awaiting deletion)' : ''}`);
    log(`  before this run: ${fmt(r2Before.objects)} objects, ${mb(r2Before.bytes)}`);
    log('');
    log(`Results (${fmt(N)} events, one day of traffic at ${fmt(N / 86_400, 1)} events/s; rollupProperties ${rollupPropertiesSet ? 'set' : 'NOT set (PATCH refused)'})`);
    log(`  D1 bytes added            ${mb(d1Added).padStart(12)}   ${fmt(d1Added / N, 1).padStart(7)} bytes/event   ${mb(d1Added)}/day`);
    log(`  R2 bytes added            ${mb(r2After.liveBytes - r2Before.liveBytes).padStart(12)}   ${fmt(r2PerEvent, 1).padStart(7)} bytes/event   ${mb(r2After.liveBytes - r2Before.liveBytes)}/day   goal ≤ ${GOALS.r2BytesPerEvent} bytes/event: ${r2PerEvent <= GOALS.r2BytesPerEvent ? 'met' : 'NOT met'}`);
    log(`  R2 objects added          ${fmt(r2After.liveObjects - r2Before.liveObjects).padStart(12)}   (${fmt(drainedState.objects - r2Before.objects)} written by the drain before compaction)`);
    log(`  years until one D1 database (10 GB) is full at this traffic:`);
    log(`    every byte added kept forever          ${fmt(yearsNaive, 1).padStart(8)} years   goal ≥ ${GOALS.years}: ${yearsNaive >= GOALS.years ? 'met' : 'NOT met'}`);
    log(`    with retention's bounds (minute rollups ${LIMITS.minuteRollupHours} h, hour rollups ${LIMITS.hourRollupDays} days, day rollups ~${LIMITS.dayRollupDays} days then month rows, drain log 8 days, raw rows and user rollups ${ws.retentionDays} days):`);
    log(`      ${mb(growingPerDay)}/day kept forever + ${mb(boundedStock)} bounded  ${fmt(yearsSteady, 1).padStart(8)} years   goal ≥ ${GOALS.years}: ${yearsSteady >= GOALS.years ? 'met' : 'NOT met'}`);
    log(`  timings: send ${fmt(sendSeconds, 0)} s (${fmt(N / sendSeconds)} events/s acknowledged), drain lag ${fmt(drainSeconds, 1)} s, whole run ${fmt(totalSeconds, 0)} s`);
  } finally {
    await worker?.stop();
    bundle.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
