/**
 * The bench entry Worker (bench/wrangler.toml): the production Worker unchanged, plus the references
 * the benchmarks measure against, so that src/ carries no bench hooks. Never deployed.
 *
 * - `/api/v1/bench/ws`: a bare socket on a Durable Object of its own, no live pipeline (bench/live).
 * - `POST /api/v1/bench/broadcast`: one bare RPC to that object, sending the body to its bare sockets
 *   (with none open: a Durable Object call that does nothing, the floor of any route that calls one).
 * - `x-edgepulse-bench: worker-half` on any production request: the production app runs unchanged
 *   with a WORKSPACE_HUB whose hubs accept every ingest at once, i.e. the ingest route without its hub call.
 * - `POST /api/v1/bench/stage`: one stage of an event's way, `repeat` times, timed where it runs (bench/stages.ts).
 *
 * Everything else is the production app.
 */
import { DurableObject } from 'cloudflare:workers';
import { app } from '../src/app';
import { runStage, type BenchHub, type StageEnv } from './stages';
import { ApiError } from '../src/errors';
import production from '../src/index';
import type { NormalizedEvent, WorkspaceRef } from '../src/ingest/types';
import type { IngestResult } from '../src/shared/events';

export { RoomHub, WorkspaceHub } from '../src/index';
export { BenchHub } from './stages';

interface BenchEnv extends Env, StageEnv {
  BENCH_BASELINE: DurableObjectNamespace<BenchBaseline>;
  BENCH_HUB: DurableObjectNamespace<BenchHub>;
}

/** The bare baselines: a Durable Object with no state, no storage and no pipeline. */
export class BenchBaseline extends DurableObject<BenchEnv> {
  /** A bare hibernatable socket. */
  async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Sends one message to every bare socket; the number sent. */
  async broadcast(message: string): Promise<number> {
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) ws.send(message);
    return sockets.length;
  }

  async webSocketMessage(): Promise<void> {}

  async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 || code === 1006 ? 1000 : code);
  }
}

/** Hubs that accept every ingest at once, storing nothing: the production route minus its hub call. */
const acceptingHub = {
  ingest: async (_ref: WorkspaceRef, events: NormalizedEvent[]): Promise<IngestResult> => ({ accepted: events.length, duplicates: 0 }),
};
const acceptingHubs = { idFromName: (name: string) => name, get: () => acceptingHub } as unknown as Env['WORKSPACE_HUB'];
/** One env per real env (workerd keeps it across requests): the id cache of src/live/hubs.ts stays warm. */
const workerHalfEnvs = new WeakMap<object, Env>();
function workerHalfEnv(env: Env): Env {
  let half = workerHalfEnvs.get(env);
  if (!half) workerHalfEnvs.set(env, (half = { ...env, WORKSPACE_HUB: acceptingHubs }));
  return half;
}

const baseline = (env: BenchEnv) => env.BENCH_BASELINE.get(env.BENCH_BASELINE.idFromName('bare'));
const json = (body: unknown, status = 200) => Response.json(body, { status });

async function benchRoute(request: Request, env: BenchEnv, path: string): Promise<Response> {
  if (path === '/api/v1/bench/ws' && request.method === 'GET') return baseline(env).fetch(request);
  if (path === '/api/v1/bench/broadcast' && request.method === 'POST') return json({ sent: await baseline(env).broadcast(await request.text()) });
  if (path === '/api/v1/bench/stage' && request.method === 'POST') return json(await runStage(request, env, baseline(env)));
  throw new ApiError('not_found', `no route ${request.method} ${path}`);
}

export default {
  async fetch(request, env, ctx) {
    if (request.headers.get('x-edgepulse-bench') === 'worker-half') return app.fetch(request, workerHalfEnv(env), ctx);
    // A substring test first: production requests measured through this entry pay no URL parse.
    const path = request.url.includes('/api/v1/bench/') ? new URL(request.url).pathname : '';
    if (!path.startsWith('/api/v1/bench/')) return app.fetch(request, env, ctx);
    try {
      return await benchRoute(request, env, path);
    } catch (err) {
      if (err instanceof ApiError) return json(err.toBody(), err.status);
      throw err;
    }
  },
  scheduled: production.scheduled,
} satisfies ExportedHandler<BenchEnv>;
