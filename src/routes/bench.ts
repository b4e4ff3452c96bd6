import { Hono, type Context } from 'hono';
import { benchOn, type AppEnv } from '../env';
import { ApiError } from '../errors';
import { insertEventStatements } from '../history/drain-writer';
import { normalizeEvents } from '../ingest/normalize';
import { parseEventPayload } from '../ingest/parse';
import type { NormalizedEvent } from '../ingest/types';
import type { IngestResult } from '../shared/events';

/**
 * References the benchmarks measure against, each off unless the Worker runs with `--var BENCH:1`
 * (bench/ does; a deployment never does): what a part of a request costs on its own.
 */
export const benchRoutes = new Hono<AppEnv>();

const benchHub = (c: Context<AppEnv>) => c.env.WORKSPACE_HUB.get(c.env.WORKSPACE_HUB.idFromName('bench:bare-broadcast'));

benchRoutes.use('/bench/*', async (c, next) => {
  if (!benchOn(c)) throw new ApiError('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
});

/** A bare socket on a hub, no live pipeline (bench/live). */
benchRoutes.get('/bench/ws', (c) =>
  benchHub(c).fetch(new Request(c.req.url, { headers: { ...Object.fromEntries(c.req.raw.headers), 'x-edgepulse-bench': '1' } })),
);

/** One bare Durable Object call (no auth, validation or storage) that also broadcasts to the bare sockets. */
benchRoutes.post('/bench/broadcast', async (c) => c.json({ sent: await benchHub(c).benchBroadcast(await c.req.text()) }));

/**
 * Raw rows into D1 the way the drain writes them, in drain-sized batches, and nothing else: the body's
 * events (normalized as ingest does) `copies` times over, under fresh ids, in one D1 batch. What one
 * raw row per event costs D1 alone, a floor under the whole path's cost per event.
 */
benchRoutes.post('/bench/d1-rows', async (c) => {
  const body = (await c.req.json()) as { events: unknown[]; copies: number };
  const copies = Math.min(100, Math.max(1, Math.floor(Number(body.copies) || 1)));
  const parsed = parseEventPayload({ events: body.events });
  if (!parsed.ok) throw new ApiError('invalid_request', parsed.message, parsed.issues);
  const now = Date.now();
  const normalized = normalizeEvents(parsed.value.events, { now, userAgent: c.req.header('user-agent') }, true);
  if (!normalized.ok) throw new ApiError('invalid_request', normalized.message, normalized.issues);
  const rows = Array.from({ length: copies }, (_, k) => normalized.value.map((e) => ({ ...e, id: `${e.id}.${k}` }))).flat();
  await c.env.DB.batch(insertEventStatements(c.env.DB, 'bench:d1-rows', rows));
  return c.json({ rows: rows.length });
});

/**
 * The ingest routes with their hub call left out (header `x-edgepulse-bench: worker-half`, BENCH=1
 * only): the answer comes right after auth, parsing, validation and enrichment, a ceiling the whole
 * path cannot pass. Undefined: no reference asked for, ingest as usual.
 */
export function benchReference(c: Context<AppEnv>, events: NormalizedEvent[]): IngestResult | undefined {
  if (!benchOn(c) || c.req.header('x-edgepulse-bench') !== 'worker-half') return undefined;
  return { accepted: events.length, duplicates: 0 };
}
