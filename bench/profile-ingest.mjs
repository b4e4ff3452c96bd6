#!/usr/bin/env node
// CPU profile of the ingest path: the bench bundle in Miniflare with an inspector, one case under
// load for 4 s, then self and inclusive time per function. The .cpuprofile is written to the temp
// directory (open it in Chrome DevTools). `node bench/profile-ingest.mjs single|batch`;
// `--worker-half` profiles the Worker's half only (no hub call: bench/worker.ts answers for the hubs). TARGET=<regexp of the inspector target title> picks another isolate (default core:user, the Worker and its hubs).
import { measure } from './lib/load.mjs';
import { buildBundle, createWorkspace, startMiniflare, freePort } from './lib/worker.mjs';
import WebSocket from 'ws';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const mode = process.argv[2] ?? 'single';
const half = process.argv.includes('--worker-half') ? { 'x-edgepulse-bench': 'worker-half' } : {};
const bundle = buildBundle();
const ip = await freePort();
const w = await startMiniflare(bundle.scriptPath, { inspectorPort: ip });
try {
  const ws1 = await createWorkspace(w.url, 'prof');
  const targets = await (await fetch(`http://127.0.0.1:${ip}/json`)).json();
  console.log('inspector targets:', targets.map((t) => t.title).join(', '));
  const t = targets.find((x) => new RegExp(process.env.TARGET ?? 'core:user').test(x.title)) ?? targets[0];
  const sock = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((r) => sock.on('open', r));
  let id = 0; const pend = new Map();
  sock.on('message', (m) => { const d = JSON.parse(m); if (d.id && pend.has(d.id)) { pend.get(d.id)(d); pend.delete(d.id); } });
  const send = (method, params = {}) => new Promise((r) => { const i = ++id; pend.set(i, r); sock.send(JSON.stringify({ id: i, method, params })); });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  let seq = 0;
  const ev = () => ({ id: `p-${seq++}`, type: 'bench.event', userId: `u${seq % 500}`, durationMs: seq % 250, properties: { plan: 'pro' } });
  const next = () => ({ method: 'POST', path: '/api/v1/workspaces/prof/events', headers: { authorization: `Bearer ${ws1.ingest}`, 'content-type': 'application/json', 'user-agent': 'edgepulse-bench/1 (X11; Linux x86_64) Chrome/130.0', ...half }, body: JSON.stringify(mode === 'single' ? ev() : { events: Array.from({ length: 100 }, ev) }), events: mode === 'single' ? 1 : 100 });
  await measure({ origin: w.url, label: 'warm', seconds: 1, expect: 202, next, quiet: true });
  await send('Profiler.start');
  const r = await measure({ origin: w.url, label: mode, seconds: 4, expect: 202, next });
  const { result } = await send('Profiler.stop');
  console.log(`${Math.round(r.eventsPerSecond)} events/s while profiling (the profiler slows the isolate)`);
  const prof = result.profile;
  const { writeFileSync } = await import('node:fs');
  const file = join(tmpdir(), `edgepulse-ingest-${mode}.cpuprofile`);
  writeFileSync(file, JSON.stringify(prof));
  console.log(`profile: ${file}`);
  // self time per function
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas; let total = 0;
  prof.samples.forEach((s, i) => { const n = byId.get(s); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + dt[i]); total += dt[i]; });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
  console.log('--- self time (% of samples)');
  for (const [k, v] of top) console.log((v / total * 100).toFixed(1).padStart(5), k);
  // inclusive time
  const parent = new Map(); for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  prof.samples.forEach((s, i) => { const seen = new Set(); for (let x = s; x; x = parent.get(x)) { const n = byId.get(x); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt[i]); } } });
  console.log('--- inclusive');
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log((v / total * 100).toFixed(1).padStart(5), k);
  sock.close();
} finally { await w.stop(); bundle.cleanup(); }
