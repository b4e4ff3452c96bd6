import { env } from 'cloudflare:test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRequest, send } from './fuzz/send';
import { requestArb, routesOf, type FuzzRequest, type FuzzWorld, type Route } from './fuzz/requests';
import { buildWorld, fuzzScale, fuzzSeed } from './fuzz/world';
import { checkAfterFuzz, settleHistory } from './fuzz/after';

/**
 * Property-based fuzzing of every route in the OpenAPI document: requests shaped by the schema with
 * extreme and hostile values, wrong types, odd headers and encodings, every kind of credential.
 * The property: no answer is a 5xx. Then every hub drains and every report still answers.
 * Replay a failure with FUZZ_SEED=<seed>; FUZZ_SCALE scales the case counts; FUZZ_COLLECT=1 lists every
 * 5xx of a run instead of stopping at the first, FUZZ_COLLECT=clean also prints clean cases refused with a 4xx.
 */
const seed = fuzzSeed();
const scale = fuzzScale();
const collect = env.FUZZ_COLLECT !== '';
const perRoute = new Map<string, Map<number, number>>();
const serverErrors: string[] = [];
const routeMs = new Map<string, number>();
const cleanPerRoute = new Map<string, Set<number>>();
let sent = 0;
let world: FuzzWorld;
let routes: Route[];

const isIngest = (r: Route) => r.template.startsWith('/v1/') || r.template.includes('/webhooks/') || r.template === '/api/v1/collect' || r.key === 'POST /api/v1/workspaces/{ws}/events';
const isRead = (r: Route) => !isIngest(r) && (r.method === 'GET' || r.key === 'POST /api/v1/workspaces/{ws}/live/token');
const isManage = (r: Route) => !isIngest(r) && !isRead(r);

let failed = false;

async function property(req: FuzzRequest): Promise<boolean> {
  // Once a runner has failed, the others stop sending (fast-check cannot cancel a running assert).
  if (failed) return true;
  const t0 = Date.now();
  const res = await send(world, req);
  routeMs.set(req.route, (routeMs.get(req.route) ?? 0) + Date.now() - t0);
  sent++;
  const statuses = perRoute.get(req.route) ?? new Map<number, number>();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  perRoute.set(req.route, statuses);
  if (!req.hostile) cleanPerRoute.set(req.route, (cleanPerRoute.get(req.route) ?? new Set<number>()).add(res.status));
  if (res.status < 500) return true;
  const report = `${formatRequest(req)}\n→ ${res.status} ${res.text.slice(0, 500)}`;
  if (collect) {
    serverErrors.push(report);
    return true;
  }
  throw new Error(`answered ${res.status} (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz-routes.test.ts):\n${report}`);
}

/** Runners in parallel keep the Worker busy while one waits on storage; each has its own seed. */
const RUNNERS = 4;
const STATIC = new Set(['GET /health', 'GET /t.js', 'GET /api/docs', 'GET /api/v1/openapi.json']);

async function fuzz(select: (r: Route) => boolean, numRuns: number) {
  const chosen = routes.filter(select);
  expect(chosen.length).toBeGreaterThan(0);
  const started = Date.now();
  const before = sent;
  // Static documents (health, tracker script, API reference, OpenAPI) get fewer cases than routes with logic behind them.
  const requests = fc.oneof(...chosen.map((r) => ({ arbitrary: requestArb(world, r), weight: STATIC.has(r.key) ? 1 : 4 })));
  const runs = Math.ceil((numRuns * scale) / RUNNERS);
  try {
    await Promise.all(Array.from({ length: RUNNERS }, (_, i) => fc.assert(fc.asyncProperty(requests, property), { seed: seed + i, numRuns: runs })));
  } catch (err) {
    failed = true;
    throw err;
  }
  console.log(`fuzz: ${sent - before} requests over ${chosen.length} routes in ${((Date.now() - started) / 1000).toFixed(1)} s (seeds ${seed}…${seed + RUNNERS - 1})`);
}

describe('fuzzing every route of the OpenAPI document never gets a 5xx', () => {
  beforeAll(async () => {
    world = await buildWorld();
    routes = routesOf(world);
    console.log(`fuzz: seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz-routes.test.ts), ${routes.length} routes, scale ${scale}`);
  });

  afterAll(() => {
    const lines = [...perRoute.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([route, statuses]) => {
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      const spread = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
      return `  ${String(total).padStart(5)}  ${route.padEnd(52)} ${String(Math.round((routeMs.get(route) ?? 0) / total)).padStart(4)} ms  ${spread}`;
    });
    console.log(`fuzz: ${sent} requests in all, seed ${seed}; per route:\n${lines.join('\n')}`);
    if (serverErrors.length) console.log(`fuzz: ${serverErrors.length} answers ≥ 500:\n\n${serverErrors.join('\n\n')}`);
  });

  it('ingest routes (events, collect, Segment, webhooks)', { timeout: 300_000 }, () => fuzz(isIngest, 4_000));
  it('read routes (reports, event log, export, users, live, documents)', { timeout: 300_000 }, async () => {
    // As the cron would have by then: hubs drained and closed hours compacted to one archive file each.
    await settleHistory();
    await fuzz(isRead, 3_000);
  });
  it('management routes (workspaces, keys, sessions, live tokens, closing live)', { timeout: 300_000 }, () => fuzz(isManage, 1_500));

  it('covered every route, then every hub drains and every report answers', { timeout: 120_000 }, async () => {
    for (const r of routes) {
      // Every route was tried, and cases got into its handler: succeeded, or (for a thing the fuzzer
      // cannot create, e.g. a dead letter's {id}) at least got past authentication in a clean case.
      const statuses = [...(perRoute.get(r.key)?.keys() ?? [])];
      expect(statuses.length, `no case for ${r.key}`).toBeGreaterThan(0);
      const unknownId = r.template.includes('{id}') && !r.template.includes('/keys/');
      const reached = unknownId ? [...(cleanPerRoute.get(r.key) ?? [])].some((s) => s !== 401 && s !== 403) : statuses.some((s) => s >= 100 && s < 300);
      expect(reached, `no case of ${r.key} reached its handler: ${statuses}`).toBe(true);
    }
    expect(sent).toBeGreaterThanOrEqual(Math.floor(8_500 * scale));
    expect(serverErrors).toEqual([]);
    await checkAfterFuzz(world);
  });
});
