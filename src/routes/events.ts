import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import { authenticate, bearerSecret, requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { decodeCursor, listEvents } from '../history/event-log';
import { rawSource } from '../history/raw/source';
import { RANGES, resolveRange } from '../history/range';
import { db, findWorkspaceById, type WorkspaceRow } from '../history/workspaces';
import { parseEventPayload, parseJsonBody } from '../ingest/parse';
import { EventBatchInput, EventInput, EventPage, IngestResult } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { ingestParsed, unwrap } from './ingest-helper';
import { authErrors, bearer, errorResponses, json, WsParams } from './openapi';
import { checkRange, PROPERTY_FILTERS, propertyFilters, ReportParams } from './stats';

export const eventRoutes = new OpenAPIHono<AppEnv>();

/** Reads the body as text, refusing it early when its declared length is over the limit. */
async function bodyText(c: Context<AppEnv>, allowText: boolean): Promise<string> {
  const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const ok = type === 'application/json' || type.endsWith('+json') || (allowText && (type === 'text/plain' || type === ''));
  if (!ok) throw new ApiError('unsupported_media_type', `send JSON with "Content-Type: application/json" (got "${type || 'none'}")`);
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > LIMITS.bodyMaxBytes) throw new ApiError('payload_too_large', `body is larger than ${LIMITS.bodyMaxBytes} bytes`);
  const body = c.req.raw.body;
  // A declared length within the limit bounds what the runtime delivers: read it natively, in one piece.
  if (!body || c.req.raw.bodyUsed || declared > 0) return c.req.text();
  return readLimited(body, LIMITS.bodyMaxBytes);
}

/**
 * Reads a stream, answering 413 once it passes `max` bytes: a body without Content-Length is never
 * buffered whole. The rest of an oversized body is read and dropped (up to bodyDrainMaxBytes) rather
 * than cancelled: a body left half-read makes wrangler dev's proxy fail the next request on that
 * connection with "503 Your worker restarted mid-request".
 */
async function readLimited(body: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await drain(reader, size, LIMITS.bodyDrainMaxBytes);
      throw new ApiError('payload_too_large', `body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Reads the rest of a stream without keeping it, until its end or `bound` bytes in all (then cancels). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, read: number, bound: number): Promise<void> {
  try {
    while (read <= bound) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing left to keep usable
  }
}

/** validate → normalize → enrich → one hub call for the whole request. */
async function ingest(c: Context<AppEnv>, workspace: WorkspaceRow, body: unknown) {
  const { events, isBatch } = unwrap(parseEventPayload(body));
  return ingestParsed(c, workspace, events, isBatch);
}

// The ingest key is made to sit in web pages, so pages may post batches here too (allowedOrigins still
// applies). Added before the route: middleware runs in the order it is added.
const pageCors = cors({ origin: (origin) => origin || '*', allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: ['Retry-After'], maxAge: 86400 });
// Servers send no Origin: their requests, the bulk of ingest, skip the CORS work.
eventRoutes.use('/workspaces/:ws/events', (c, next) => (c.req.header('origin') ? pageCors(c, next) : next()));

const IngestBody = z.toJSONSchema(z.union([EventInput, EventBatchInput]), { io: 'input', unrepresentable: 'any' });

eventRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/events', tags: ['Events'], security: bearer,
    summary: 'Send one event or a batch of 1–500 (ingest or admin key)',
    description: `A 202 means the events are durable. An id accepted in the last ${LIMITS.dedupeDays} days is counted in \`duplicates\` and not stored again. A batch is all or nothing: one invalid event rejects the request with 400 and issues naming \`events.N.field\`. Numbers outside their bounds are a 400 too: \`durationMs\` 0 ≤ x ≤ 1e10, \`bytesIn\`/\`bytesOut\` integers 0 ≤ x ≤ 2^53−1, \`value\` |x| ≤ 1e15, \`gauges\` at most ${LIMITS.gaugesMaxKeys} with |x| ≤ 1e15 — so no sum, percentile or report of accepted events can become non-finite. \`gauges\` feed the live \`Stats.gauges\`, \`GET …/stats/gauges\` and \`/metrics\`, and are kept in the archive's \`gauges\` column (not yet in the stored event the event log and export show).`,
    middleware: [requireAccess('ingest')] as const,
    request: { params: WsParams, body: { content: { 'application/json': { schema: IngestBody as never } }, required: true } },
    responses: { 202: json(IngestResult, 'Accepted and durable'), ...authErrors, ...errorResponses(413, 415, 429) },
  }),
  async (c) => {
    const body = unwrap(parseJsonBody(await bodyText(c, false)));
    return c.json(await ingest(c, c.get('workspace'), body), 202);
  },
);

// Retry-After is exposed so that the tracker can wait as long as a 429 asks.
eventRoutes.use('/collect', cors({ origin: (origin) => origin || '*', allowMethods: ['POST', 'OPTIONS'], exposeHeaders: ['Retry-After'], maxAge: 86400 }));

eventRoutes.openapi(
  createRoute({
    method: 'post', path: '/collect', tags: ['Events'],
    summary: 'Browser collector: one event, ingest key in `?key=`, the body’s `key` or a Bearer header',
    description: 'Accepts `text/plain` bodies holding JSON, as `navigator.sendBeacon` sends them.',
    request: {
      query: z.object({ key: z.string().optional() }),
      body: { content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: IngestBody as never } } },
    },
    responses: { 202: json(IngestResult, 'Accepted and durable'), ...authErrors, ...errorResponses(413, 415, 429) },
  }),
  async (c) => {
    const parsed = unwrap(parseJsonBody(await bodyText(c, true)));
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    const bodyKey = isObject && 'key' in parsed ? (parsed as { key: unknown }).key : undefined;
    const secret = c.req.query('key') ?? (typeof bodyKey === 'string' ? bodyKey : undefined) ?? bearerSecret(c);
    if (!secret) throw new ApiError('unauthorized', 'send the ingest key as ?key=pk_…, as "key" in the body or as "Authorization: Bearer pk_…"');
    const principal = await authenticate(c, secret);
    // The collector's key sits in web pages and beacon URLs: only the ingest key, made to be public, belongs there.
    if (principal.kind !== 'ingest') throw new ApiError('forbidden', 'the collector takes the ingest key (pk_…); keep read and admin keys out of web pages');
    const workspace = await findWorkspaceById(db(c.env.DB), principal.workspaceId);
    if (!workspace) throw new ApiError('forbidden', 'this key’s workspace is gone');
    if (!isObject) throw new ApiError('invalid_request', '(body): expected one event object', [{ path: '(body)', message: 'expected one event object' }]);
    const { key: _key, ...event } = parsed as Record<string, unknown>;
    return c.json(await ingest(c, workspace, event), 202);
  },
);

const EventsQuery = ReportParams.extend({
  range: z.enum(RANGES).optional().meta({ description: 'today, yesterday (workspace time zone), 24h, 7d, 30d, 90d. Default: all the stored events' }),
  limit: z.coerce.number().int().min(1).max(LIMITS.eventsPageMax).default(LIMITS.eventsPageDefault),
  cursor: z.string().max(400).optional(),
  errorsOnly: z.enum(['true', 'false', '1', '0']).optional(),
});

eventRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/events', tags: ['Events'], security: bearer,
    summary: 'Raw events, newest first, with cursor paging (read key)',
    description: `Read from the R2 archive (hour partitions newest first, row groups skipped by their \`ts\` statistics) and the hub’s not-yet-drained outbox, so an acknowledged event is listed within seconds and never twice. Ordered by (timestamp, id) descending; \`nextCursor\` continues after the last event of the page. Every filter and \`errorsOnly\` apply before paging. ${PROPERTY_FILTERS}`,
    middleware: [requireAccess('people')] as const,
    request: { params: WsParams, query: EventsQuery },
    responses: { 200: json(EventPage, 'A page of events'), ...authErrors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const ws = c.get('workspace');
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (cursor === null) throw new ApiError('invalid_request', 'cursor: not a cursor this API gave out', [{ path: 'cursor', message: 'invalid cursor' }]);
    // Without range, from or to: every stored event (the reports default to 30 days instead).
    const { from, to } = resolveRange(checkRange(q), ws.timezone);
    const { type, room, userId, country, platform, device, browser, os } = q;
    const properties = propertyFilters(q);
    const filters = Object.fromEntries(Object.entries({ type, room, userId, country, platform, device, browser, os, properties }).filter(([, v]) => v !== undefined));
    const page = await listEvents(
      rawSource(c.env, ws.id),
      { workspaceId: ws.id, from: from ?? 0, to: to ?? Number.MAX_SAFE_INTEGER, filters, errorsOnly: q.errorsOnly === 'true' || q.errorsOnly === '1' },
      q.limit,
      cursor,
    );
    return c.json(page, 200);
  },
);
