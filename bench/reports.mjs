// Reports from rollups vs. the same answer from a raw scan, with 1M and 10M events of history
// in local D1 (Miniflare, one process). Run: npm run bench:reports [-- --quick] (1M only; BENCH_N=… sets its size)
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregate, rollupStatements } from '../src/history/rollups.ts';
import { Agg } from '../src/history/agg.ts';

const QUICK = process.argv.includes('--quick');
const SIZES = QUICK ? [Number(process.env.BENCH_N ?? 1_000_000)] : [1_000_000, 10_000_000];
const RUNS = 5;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const TYPES = ['page.view', 'message.sent', 'api.call', 'file.uploaded', 'Order Completed'];
const ROOMS = ['standup', 'lobby', 'town-hall'];
const COUNTRIES = ['DE', 'US', 'IN', 'BR'];
const PLATFORMS = ['Web', 'iOS', 'Android'];
const DEVICES = ['desktop', 'mobile'];
const BROWSERS = ['Chrome', 'Safari', 'Firefox'];
const OSES = ['macOS', 'Windows', 'iOS 18'];
const USERS = 20_000;

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const sqlList = (xs, expr) => `CASE ${expr} ${xs.map((x, i) => `WHEN ${i} THEN '${x}'`).join(' ')} END`;

/** Event n of N, as the recursive CTE below builds it (same formulas, integer math only). */
function eventAt(n, start, step) {
  const ts = start + Math.floor(n * step);
  return {
    id: `b${n}`, type: TYPES[n % 5], ts, receivedAt: ts, userId: `u${(n * 31) % USERS}`, sessionId: `s${Math.floor(n / 20)}`,
    room: n % 7 === 0 ? null : ROOMS[Math.floor(n / 7) % 3], durationMs: ((n * 7919) % 100000) / 100, bytesIn: n % 1000, bytesOut: (n * 13) % 5000,
    error: n % 50 === 0 ? 'timeout' : n % 77 === 0 ? 'crash' : null, value: n % 10, properties: {},
    context: { country: COUNTRIES[n % 4], platform: PLATFORMS[Math.floor(n / 3) % 3], device: DEVICES[Math.floor(n / 5) % 2], browser: BROWSERS[Math.floor(n / 11) % 3], os: OSES[Math.floor(n / 13) % 3] },
  };
}

const RAW_INSERT = (ws, start, step) => `WITH RECURSIVE seq(n) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < ?2)
INSERT INTO events (workspace_id, ts, id, type, received_at, user_id, session_id, room, duration_ms, bytes_in, bytes_out, error, value, properties, context)
SELECT '${ws}', ${start} + CAST(n * ${step} AS INTEGER) AS t, 'b' || n, ${sqlList(TYPES, 'n % 5')}, ${start} + CAST(n * ${step} AS INTEGER),
  'u' || ((n * 31) % ${USERS}), 's' || (n / 20), CASE WHEN n % 7 = 0 THEN NULL ELSE ${sqlList(ROOMS, '(n / 7) % 3')} END,
  ((n * 7919) % 100000) / 100.0, n % 1000, (n * 13) % 5000, CASE WHEN n % 50 = 0 THEN 'timeout' WHEN n % 77 = 0 THEN 'crash' END, n % 10, '{}',
  json_object('country', ${sqlList(COUNTRIES, 'n % 4')}, 'platform', ${sqlList(PLATFORMS, '(n / 3) % 3')}, 'device', ${sqlList(DEVICES, '(n / 5) % 2')},
    'browser', ${sqlList(BROWSERS, '(n / 11) % 3')}, 'os', ${sqlList(OSES, '(n / 13) % 3')})
FROM seq`;

async function startWorker(dir) {
  const outfile = join(dir, 'worker.mjs');
  await build({
    entryPoints: ['src/index.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile, logLevel: 'error',
    conditions: ['workerd', 'worker', 'browser'], external: ['cloudflare:*', 'node:*'],
  });
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: join(dir, 'worker.mjs'), contents: readFileSync(outfile, 'utf8') }], modulesRoot: dir, compatibilityDate: '2026-04-01', compatibilityFlags: ['nodejs_compat'],
    d1Databases: { DB: 'bench-db' }, d1Persist: join(dir, 'd1'), durableObjectsPersist: join(dir, 'do'),
    durableObjects: { WORKSPACE_HUB: 'WorkspaceHub', ROOM_HUB: 'RoomHub' },
    bindings: { ADMIN_TOKEN: 'bench-root', SESSION_SECRET: 'bench-session', VERSION: 'bench' },
  });
  const db = await mf.getD1Database('DB');
  for (const f of readdirSync('migrations').filter((f) => f.endsWith('.sql')).sort()) {
    for (const stmt of readFileSync(join('migrations', f), 'utf8').split('--> statement-breakpoint')) if (stmt.trim()) await db.prepare(stmt).run();
  }
  return { mf, db };
}

async function api(mf, path) {
  const res = await mf.dispatchFetch(`http://bench.local${path}`, { headers: { authorization: 'Bearer bench-root' } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Raw rows by recursive CTE; rollups by the drain's own aggregate() + rollupStatements(), a local day at a time. */
async function generate(db, ws, n, start, end) {
  const step = (end - start) / n;
  const chunk = 250_000;
  const t0 = Date.now();
  for (let i = 0; i < n; i += chunk) {
    await db.prepare(RAW_INSERT(ws.id, start, step)).bind(i, Math.min(n, i + chunk)).run();
    log(`  raw events ${(Math.min(n, i + chunk) / 1e6).toFixed(2)}M / ${n / 1e6}M (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const t1 = Date.now();
  let rows = 0;
  let i = 0;
  const write = async (list) => {
    const stmts = rollupStatements(db, ws, list);
    for (let k = 0; k < stmts.length; k += 20) await db.batch(stmts.slice(k, k + 20));
    rows += list.length;
  };
  for (let dayStart = Math.floor(start / DAY) * DAY; dayStart < end; dayStart += DAY) {
    const days = new Map();
    for (let h = dayStart; h < dayStart + DAY; h += HOUR) {
      const events = [];
      for (; i < n; i++) {
        const e = eventAt(i, start, step);
        if (e.ts >= h + HOUR) break;
        events.push(e);
      }
      if (!events.length) continue;
      const hourRows = [];
      for (const r of aggregate(events, 'UTC')) {
        if (r.grain !== 'day') hourRows.push(r);
        else {
          const k = `${r.type}\u0000${r.dim}\u0000${r.key}`;
          const cur = days.get(k);
          if (cur) cur.agg.merge(r.agg);
          else days.set(k, r);
        }
      }
      await write(hourRows);
    }
    await write([...days.values()]);
    log(`  rollups through ${new Date(dayStart).toISOString().slice(0, 10)}: ${i.toLocaleString()} events folded, ${rows.toLocaleString()} rows (${((Date.now() - t1) / 1000).toFixed(0)} s)`);
  }
  return { rawSeconds: (t1 - t0) / 1000, rollupSeconds: (Date.now() - t1) / 1000, rollupRows: rows };
}

async function time(fn) {
  const times = [];
  let answer;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    answer = await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(RUNS / 2)], answer };
}

async function benchSize(n) {
  const dir = mkdtempSync(join(tmpdir(), 'edgepulse-bench-reports-'));
  const { mf, db } = await startWorker(dir);
  try {
    const created = await mf.dispatchFetch('http://bench.local/api/v1/workspaces', {
      method: 'POST', headers: { authorization: 'Bearer bench-root', 'content-type': 'application/json' },
      body: JSON.stringify({ slug: `bench-${n}`, retentionDays: 90 }),
    });
    if (created.status !== 201) throw new Error(`create workspace: ${created.status} ${await created.text()}`);
    const ws = { ...(await db.prepare('SELECT id, slug, timezone FROM workspaces').first()) };
    const now = Date.now();
    const start = Math.floor((now - 31 * DAY) / HOUR) * HOUR;
    const end = now - 60_000;
    log(`${(n / 1e6).toFixed(0)}M events over 31 days: generating`);
    const gen = await generate(db, ws, n, start, end);
    const from = now - 30 * DAY;
    const q = `from=${from}&to=${now}`;
    const base = `/api/v1/workspaces/${ws.slug}`;
    const raw = (sql) => db.prepare(sql).bind(ws.id, from, now).all().then((r) => r.results);
    const W = 'workspace_id = ?1 AND ts >= ?2 AND ts < ?3';
    const cases = [
      {
        name: '30-day summary',
        rollup: () => api(mf, `${base}/stats/summary?${q}`),
        scan: () => raw(`SELECT count(*) AS events, count(error) AS errors, sum(bytes_in) AS bytesIn, count(DISTINCT user_id) AS users, avg(duration_ms) AS avg FROM events WHERE ${W}`),
        check: (a, b) => a.events === b[0].events && a.errors === b[0].errors && a.bytesIn === b[0].bytesIn && Math.abs(a.users - b[0].users) / b[0].users <= 0.02,
      },
      {
        name: '30-day timeseries by day',
        rollup: () => api(mf, `${base}/stats/timeseries?${q}&granularity=day&metrics=events,users,errors`),
        scan: () => raw(`SELECT ts / 86400000 AS d, count(*) AS events, count(DISTINCT user_id) AS users, count(error) AS errors FROM events WHERE ${W} GROUP BY d ORDER BY d`),
        check: (a, b) => a.points.length === b.length && a.points.every((p, k) => p.events === b[k].events && p.errors === b[k].errors && Math.abs(p.users - b[k].users) / b[k].users <= 0.02),
      },
      {
        name: '30-day breakdown by type',
        rollup: () => api(mf, `${base}/stats/breakdown?${q}&by=type&limit=100`),
        scan: () => raw(`SELECT type AS key, count(*) AS events, count(DISTINCT user_id) AS users, count(error) AS errors FROM events WHERE ${W} GROUP BY type ORDER BY events DESC`),
        check: (a, b) => a.rows.length === b.length && b.every((r) => { const x = a.rows.find((y) => y.key === r.key); return x && x.events === r.events && x.errors === r.errors && Math.abs(x.users - r.users) / r.users <= 0.02; }),
      },
    ];
    const results = [];
    for (const c of cases) {
      await c.rollup(); // warm the isolate
      const r = await time(c.rollup);
      const s = await time(c.scan);
      const ok = c.check(r.answer, s.answer);
      if (!ok) log('  differs:', JSON.stringify(r.answer).slice(0, 600), JSON.stringify(s.answer).slice(0, 600));
      results.push({ n, name: c.name, rollupMs: r.ms, scanMs: s.ms, ratio: s.ms / r.ms, ok });
      log(`  ${c.name}: rollups ${r.ms.toFixed(1)} ms, raw scan ${s.ms.toFixed(1)} ms → ${(s.ms / r.ms).toFixed(0)}× faster; same answer: ${ok ? 'yes' : 'NO'}`);
    }
    return { gen, results };
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const all = [];
for (const n of SIZES) {
  const { gen, results } = await benchSize(n);
  log(`${(n / 1e6).toFixed(0)}M: raw rows ${gen.rawSeconds.toFixed(0)} s, rollups ${gen.rollupSeconds.toFixed(0)} s (${gen.rollupRows.toLocaleString()} rollup rows)`);
  all.push(...results);
}
console.log('\nevents  report                       rollups ms  raw scan ms  ratio  <100ms  ≥50×  same answer');
for (const r of all) {
  console.log(`${String(r.n / 1e6 + 'M').padEnd(7)} ${r.name.padEnd(28)} ${r.rollupMs.toFixed(1).padStart(10)} ${r.scanMs.toFixed(1).padStart(12)} ${(r.ratio.toFixed(0) + '×').padStart(6)}  ${r.rollupMs < 100 ? 'yes' : 'no '}     ${r.ratio >= 50 ? 'yes' : 'no '}  ${r.ok ? 'yes' : 'NO'}`);
}
