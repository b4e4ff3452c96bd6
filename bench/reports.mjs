// Reports in the archive era, through the HTTP API of the bench entry Worker (Miniflare, storage on disk):
// - 30-day reports over 10,000,000 events' rollups (seeded by the drain's own rollup code; D1 holds no raw events);
// - an archive-only question (a property outside rollupProperties) over 7 days at 1,000,000 events, read from
//   Parquet files written by the archive's own writer into the local R2, beside DuckDB querying the same files.
// Run: npm run bench:reports [-- --quick] (--quick: 1M events of rollups, 200k archived; BENCH_N, BENCH_ARCHIVE_N set them).
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeArchiveBatch } from '../src/archive/index.ts';
import { aggregate, rollupStatements } from '../src/history/rollups.ts';
import { buildBundle, createWorkspace, ROOT_TOKEN, startMiniflare } from './lib/worker.mjs';
import { ARCHIVE_ONLY_PROPERTY, normalized, ROLLUP_PROPERTIES, traffic } from './lib/traffic.mjs';

// Per-user daily rollups, where that code exists (the archive era's user_rollups): seeded like the rollups.
const userRollups = await import('../src/history/user-rollups.ts').catch(() => null);

const QUICK = process.argv.includes('--quick');
const N = Number(process.env.BENCH_N ?? (QUICK ? 1_000_000 : 10_000_000));
const ARCHIVE_N = Number(process.env.BENCH_ARCHIVE_N ?? (QUICK ? 200_000 : 1_000_000));
const RUNS = 5;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE_ROLLUP_MS = 48 * HOUR;
const GOAL_MS = 100;
const TZ = 'UTC';

const t0 = Date.now();
const log = (s = '') => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function api(url, path) {
  let res;
  for (let attempt = 0; !res; attempt++) {
    try {
      res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ROOT_TOKEN}` } });
    } catch (err) {
      // workerd may close a kept-alive connection just as it is reused: ask again.
      if (attempt >= 3) throw err;
    }
  }
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, error: text.slice(0, 300) };
  return JSON.parse(text);
}

async function time(fn, runs = RUNS) {
  const times = [];
  let answer;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    answer = await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)], answer };
}

/** Writes rows through D1 batches of 20 statements (the size the drain keeps to). */
async function writeStatements(db, stmts) {
  for (let k = 0; k < stmts.length; k += 20) await db.batch(stmts.slice(k, k + 20));
}

/**
 * `n` events spread evenly over [start, end), an hour at a time, into the drain's rollups: hour rows per
 * hour, day rows (and per-user day rows) folded in memory and written once per day, minute rows only
 * for the last 48 hours (retention drops older ones). `onHour(events)` sees each hour's events.
 */
async function seed(db, ws, n, start, end, seedNo, onHour) {
  const source = traffic(seedNo);
  const step = (end - start) / n;
  const began = Date.now();
  const expected = { events: 0, byType: new Map(), byPlan: new Map(), users: new Map() };
  let i = 0;
  let rows = 0;
  let userRows = 0;
  for (let dayStart = Math.floor(start / DAY) * DAY; dayStart < end; dayStart += DAY) {
    const days = new Map();
    const users = new Map();
    for (let h = dayStart; h < dayStart + DAY; h += HOUR) {
      const events = [];
      for (; i < n; i++) {
        const ts = start + Math.floor(i * step);
        if (ts >= h + HOUR) break;
        events.push(normalized(source.input(ts)));
      }
      if (!events.length) continue;
      const hourRows = [];
      for (const r of aggregate(events, TZ, ROLLUP_PROPERTIES)) {
        if (r.grain === 'minute' && r.bucket < end - MINUTE_ROLLUP_MS) continue;
        if (r.grain !== 'day') hourRows.push(r);
        else {
          const k = `${r.type}\u0000${r.dim}\u0000${r.key}`;
          const cur = days.get(k);
          if (cur) cur.agg.merge(r.agg);
          else days.set(k, r);
        }
      }
      if (userRollups) {
        for (const u of userRollups.aggregateUsers(events, TZ)) {
          const cur = users.get(u.userId);
          if (!cur) users.set(u.userId, u);
          else {
            cur.agg.merge(u.agg);
            cur.firstSeen = Math.min(cur.firstSeen, u.firstSeen);
            cur.lastSeen = Math.max(cur.lastSeen, u.lastSeen);
          }
        }
      }
      await writeStatements(db, rollupStatements(db, ws, hourRows));
      rows += hourRows.length;
      await onHour?.(events);
      tally(expected, events, end);
    }
    await writeStatements(db, rollupStatements(db, ws, [...days.values()]));
    rows += days.size;
    if (userRollups) {
      await writeStatements(db, userRollups.userRollupStatements(db, ws.id, [...users.values()]));
      userRows += users.size;
    }
    log(`  through ${new Date(dayStart).toISOString().slice(0, 10)}: ${fmt(i)} / ${fmt(n)} events folded, ${fmt(rows)} rollup rows${userRollups ? `, ${fmt(userRows)} per-user day rows` : ''} (${fmt((Date.now() - began) / 1000)} s)`);
  }
  return { seconds: (Date.now() - began) / 1000, rows, userRows, expected };
}

/** What the reports over [end − 30 days, end) must answer, counted as the events are made. */
function tally(expected, events, end) {
  const from = end - 30 * DAY;
  for (const e of events) {
    if (e.ts < from || e.ts >= end) continue;
    expected.events++;
    expected.byType.set(e.type, (expected.byType.get(e.type) ?? 0) + 1);
    expected.byPlan.set(e.properties.plan, (expected.byPlan.get(e.properties.plan) ?? 0) + 1);
    expected.users.set(e.userId, (expected.users.get(e.userId) ?? 0) + 1);
  }
}

const sameCounts = (rows, map) => rows?.length === map.size && rows.every((r) => map.get(r.key) === r.events);

async function setUp(url, db, slug) {
  const keys = await createWorkspace(url, slug);
  const res = await fetch(`${url}/api/v1/workspaces/${slug}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rollupProperties: ROLLUP_PROPERTIES, retentionDays: 90 }),
  });
  const propertiesSet = res.status === 200;
  if (!propertiesSet) log(`  PATCH rollupProperties answered ${res.status} (${(await res.text()).slice(0, 140)}): property rollups are seeded all the same`);
  const ws = { ...(await db.prepare('SELECT id, slug, timezone FROM workspaces WHERE slug = ?').bind(slug).first()), rollupProperties: ROLLUP_PROPERTIES };
  return { ws, propertiesSet };
}

/**
 * The seed rolled the properties up from its first event: where the workspace records since when a
 * property's rollups are complete (job_state), say so, as a property kept from the start would have it.
 */
async function propertiesSince(db, wsId, since) {
  const row = await db.prepare('SELECT name, state FROM job_state WHERE name = ?').bind(`rollup-properties:${wsId}`).first().catch(() => null);
  if (!row) return;
  const state = JSON.parse(row.state);
  const updated = Object.fromEntries(Object.keys(state).map((k) => [k, since]));
  await db.prepare('UPDATE job_state SET state = ? WHERE name = ?').bind(JSON.stringify(updated), row.name).run();
}

async function rollupReports(url, db) {
  const { ws, propertiesSet } = await setUp(url, db, 'bench-rollups');
  // Whole UTC days: the 30-day range is answered by rollups alone (no raw edge to read), and /users
  // (which counts the whole local days a range touches) sees exactly the seeded range.
  const end = Math.floor(Date.now() / DAY) * DAY;
  const start = end - 31 * DAY;
  log(`${fmt(N)} events over 31 days into rollups (no raw rows anywhere)…`);
  const s = await seed(db, ws, N, start, end, 21);
  await propertiesSince(db, ws.id, start);
  const q = `from=${end - 30 * DAY}&to=${end}`;
  const base = `/api/v1/workspaces/${ws.slug}`;
  const ex = s.expected;
  const user = [...ex.users.entries()].sort((a, b) => b[1] - a[1])[0];
  const cases = [
    ['summary', `${base}/stats/summary?${q}`, (a) => a.events === ex.events && Math.abs(a.users - ex.users.size) / ex.users.size <= 0.02],
    ['timeseries by day', `${base}/stats/timeseries?${q}&granularity=day&metrics=events,users,errors`, (a) => a.points?.reduce((t, p) => t + p.events, 0) === ex.events],
    ['breakdown by type', `${base}/stats/breakdown?${q}&by=type&limit=100`, (a) => sameCounts(a.rows, ex.byType)],
    ['breakdown by room', `${base}/stats/breakdown?${q}&by=room&limit=100`, (a) => a.rows?.length === 50],
    ['breakdown by country', `${base}/stats/breakdown?${q}&by=country&limit=100`, (a) => a.rows?.length === 40],
    [`breakdown by property:plan (rollup property)`, `${base}/stats/breakdown?${q}&by=property:plan&limit=100`, (a) => sameCounts(a.rows, ex.byPlan)],
    ['users (top 100 by events)', `${base}/users?${q}&sort=events&limit=100`, (a) => a.users?.length === 100 && a.users[0].events === user[1]],
    [`users/{id} (${user[0]})`, `${base}/users/${user[0]}?${q}`, (a) => a.user?.events === user[1]],
  ];
  const results = [];
  for (const [name, path, check] of cases) {
    await api(url, path); // warm the isolate and its caches
    const r = await time(() => api(url, path));
    const ok = !r.answer.error && check(r.answer);
    results.push({ name, ms: r.ms, ok, answer: r.answer });
    log(`  ${name}: ${fmt(r.ms, 1)} ms${r.answer.error ? ` — answered ${r.answer.status}: ${r.answer.error}` : ''}; answer as seeded: ${ok ? 'yes' : 'NO'}`);
    if (!ok && !r.answer.error) log(`    answered: ${JSON.stringify(r.answer).slice(0, 300)}`);
  }
  return { seed: s, results, propertiesSet };
}

/** A bucket that stores each object in the local R2 (Miniflare) and the same bytes under `dir` (for DuckDB). */
function teeBucket(bucket, dir) {
  return {
    async put(key, body, options) {
      const path = join(dir, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, body);
      return bucket.put(key, body, options);
    },
  };
}

async function archiveQuestion(url, db, bucket, filesDir) {
  const { ws } = await setUp(url, db, 'bench-archive');
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  const start = end - 7 * DAY;
  log(`${fmt(ARCHIVE_N)} events over 7 days into the archive (Parquet by the archive's writer, one part per hour) and rollups…`);
  const tee = teeBucket(bucket, filesDir);
  let objects = 0;
  let bytes = 0;
  const s = await seed(db, ws, ARCHIVE_N, start, end, 31, async (events) => {
    const parts = await writeArchiveBatch(tee, ws.id, 'bench-seed', events);
    objects += parts.length;
    bytes += parts.reduce((t, p) => t + p.bytes, 0);
  });
  log(`  archive: ${fmt(objects)} objects, ${fmt(bytes / 1e6, 1)} MB (${fmt(bytes / ARCHIVE_N, 1)} bytes/event)`);

  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const files = `read_parquet('${filesDir}/events/workspace=${ws.id}/**/*.parquet', hive_partitioning = false)`;
  const where = `ts >= epoch_ms(${start}::BIGINT) AND ts < epoch_ms(${end}::BIGINT)`;
  const duckRows = async (sql) => (await duck.runAndReadAll(sql)).getRowObjectsJS();
  const q = `from=${start}&to=${end}`;
  const base = `/api/v1/workspaces/${ws.slug}`;
  const questions = [
    {
      name: `breakdown by property:${ARCHIVE_ONLY_PROPERTY} (not in rollupProperties: the archive)`,
      path: `${base}/stats/breakdown?${q}&by=property:${ARCHIVE_ONLY_PROPERTY}&limit=10`,
      sql: `SELECT json_extract_string(properties, '$.${ARCHIVE_ONLY_PROPERTY}') AS key, count(*)::INTEGER AS events, count(DISTINCT user_id)::INTEGER AS users, count(error)::INTEGER AS errors
        FROM ${files} WHERE ${where} AND key IS NOT NULL GROUP BY key ORDER BY events DESC, key LIMIT 10`,
    },
    {
      name: 'breakdown by type (rollups; DuckDB as the reference)',
      path: `${base}/stats/breakdown?${q}&by=type&limit=100`,
      sql: `SELECT type AS key, count(*)::INTEGER AS events, count(DISTINCT user_id)::INTEGER AS users, count(error)::INTEGER AS errors FROM ${files} WHERE ${where} GROUP BY type ORDER BY events DESC, key`,
    },
  ];
  const results = [];
  for (const x of questions) {
    await api(url, x.path);
    const a = await time(() => api(url, x.path), 3);
    await duckRows(x.sql);
    const d = await time(() => duckRows(x.sql), 3);
    // Ties in events may order differently: compare each DuckDB row with the API's row of the same key.
    const differs = (r) => {
      const y = a.answer.rows?.find((z) => z.key === r.key);
      return !y || y.events !== r.events || y.errors !== r.errors || Math.abs(y.users - r.users) > Math.max(1, r.users * 0.02);
    };
    const ok = !a.answer.error && a.answer.rows?.length === d.answer.length && !d.answer.some(differs);
    results.push({ name: x.name, apiMs: a.ms, duckMs: d.ms, ok });
    log(`  ${x.name}: API ${fmt(a.ms, 1)} ms${a.answer.error ? ` (answered ${a.answer.status}: ${a.answer.error})` : ''}, DuckDB ${fmt(d.ms, 1)} ms; same answer: ${ok ? 'yes' : 'NO'}`);
    if (!ok) {
      const first = d.answer.find(differs);
      const pick = (r) => r && { key: r.key, events: r.events, users: r.users, errors: r.errors };
      log(`    ${a.answer.rows?.length ?? 0} rows from the API, ${d.answer.length} from DuckDB; first that differs: DuckDB ${JSON.stringify(pick(first))}, API ${JSON.stringify(pick(a.answer.rows?.find((z) => z.key === first?.key)) ?? a.answer.error ?? null)}`);
    }
  }
  duck.closeSync();
  return { seed: s, objects, bytes, results };
}

async function main() {
  log(`edgepulse reports benchmark: 30-day reports over ${fmt(N)} events; an archive-only question over ${fmt(ARCHIVE_N)} events in 7 days${QUICK ? ' (quick)' : ''}`);
  if (!userRollups) log('  (no per-user rollup code on this build: /users reports answer from what the build has)');
  log('building the bench entry Worker (wrangler deploy --dry-run of bench/wrangler.toml)…');
  const bundle = buildBundle();
  const dir = mkdtempSync(join(tmpdir(), 'edgepulse-bench-reports-'));
  let worker;
  try {
    worker = await startMiniflare(bundle.scriptPath, { d1Persist: join(dir, 'd1'), r2Persist: join(dir, 'r2'), durableObjectsPersist: join(dir, 'do') });
    const rollups = await rollupReports(worker.url, worker.db);
    const archive = await archiveQuestion(worker.url, worker.db, await worker.bucket(), join(dir, 'files'));
    const raw = await worker.db.prepare('SELECT count(*) AS n FROM events').first().catch(() => ({ n: 0 }));

    log('');
    log(`Seeding: ${fmt(N)} events' rollups in ${fmt(rollups.seed.seconds)} s (${fmt(rollups.seed.rows)} rollup rows, ${fmt(rollups.seed.userRows)} per-user day rows); ${fmt(ARCHIVE_N)} archived events in ${fmt(archive.seed.seconds)} s; raw rows in D1: ${fmt(raw.n)}; rollupProperties ${rollups.propertiesSet ? 'set' : 'NOT set (PATCH refused; property rollups seeded anyway)'}`);
    log('');
    log(`30-day reports over ${fmt(N)} events (median of ${RUNS})      ms     goal < ${GOAL_MS} ms   answer as seeded`);
    for (const r of rollups.results) log(`  ${r.name.padEnd(48)} ${fmt(r.ms, 1).padStart(8)}   ${r.answer.error ? 'error' : !r.ok ? 'n/a (answer differs)' : r.ms < GOAL_MS ? 'met' : 'NOT met'}`.padEnd(76) + (r.ok ? 'yes' : 'NO'));
    log('');
    log(`7 days, ${fmt(ARCHIVE_N)} events in ${fmt(archive.objects)} Parquet files (${fmt(archive.bytes / 1e6, 1)} MB) (median of 3)     API ms   DuckDB ms   same answer`);
    for (const r of archive.results) log(`  ${r.name.padEnd(68)} ${fmt(r.apiMs, 1).padStart(8)} ${fmt(r.duckMs, 1).padStart(10)}   ${r.ok ? 'yes' : 'NO'}`);
    log(`  (DuckDB ${'@duckdb/node-api'} reads the same bytes the archive's writer put into the local R2, copied to disk; whole run ${fmt((Date.now() - t0) / 1000)} s)`);
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
