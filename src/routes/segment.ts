import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { cors } from 'hono/cors';
import { authenticate } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, findWorkspaceById } from '../history/workspaces';
import { parseJsonBody } from '../ingest/parse';
import { SEGMENT_CALLS, segmentEvents, type SegmentCall } from '../ingest/segment';
import { LIMITS } from '../shared/limits';
import { ingestParsed, unwrap } from './ingest-helper';
import { authErrors, errorResponses, json } from './openapi';

export const segmentRoutes = new OpenAPIHono<AppEnv>();

segmentRoutes.use('/v1/*', cors({ origin: (origin) => origin || '*', allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: ['Retry-After', 'X-RateLimit-Reset'], maxAge: 86400 }));

/** Segment's write key: the Basic-auth user name (empty password), else `writeKey` in the body. */
function writeKey(c: Context<AppEnv>, body: unknown): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(c.req.header('authorization')?.trim() ?? '');
  if (match) {
    try {
      const user = atob(match[1]).split(':')[0];
      if (user) return user;
    } catch {
      // not base64: fall through to the body
    }
  }
  const key = body && typeof body === 'object' ? (body as { writeKey?: unknown }).writeKey : undefined;
  return typeof key === 'string' && key ? key : undefined;
}

/** Segment's libraries look for `X-RateLimit-Reset` (epoch ms) on a 429 and wait until then, else back off on their own. */
function withRateLimitReset(err: unknown): never {
  if (!(err instanceof ApiError) || err.code !== 'rate_limited') throw err;
  const seconds = Number(err.headers?.['retry-after'] ?? 1);
  throw new ApiError(err.code, err.message, err.issues, { ...err.headers, 'x-ratelimit-reset': String(Date.now() + seconds * 1000) });
}

const Success = z.object({ success: z.literal(true) });

for (const call of ['batch', ...SEGMENT_CALLS] as Array<SegmentCall | 'batch'>) {
  const maxBytes = call === 'batch' ? LIMITS.segmentBatchMaxBytes : LIMITS.segmentMessageMaxBytes;
  segmentRoutes.openapi(
    createRoute({
      method: 'post', path: `/v1/${call}`, tags: ['Segment'], security: [{ segmentWriteKey: [] }],
      summary: call === 'batch' ? 'Segment-compatible batch (what Segment’s libraries send)' : `Segment-compatible ${call} call`,
      description: [
        'Segment’s own path at the root, so Segment libraries given this host work unmodified. The write key is an ingest key: the Basic-auth user name (empty password) or `writeKey` in the body.',
        '`track` → an event of type `event`; `page` → `pageview`; `screen` → `screen`; `identify`, `group`, `alias` keep their names. `messageId` → `id` (hashed when outside the id charset), so resent messages are duplicates; `userId ?? anonymousId` → `userId`; scalar `properties` (traits for identify/group) → properties; `context` → context, a batch’s own `context` merged into each message.',
        'Over the workspace’s rate limit: 429 with `Retry-After` (seconds) and `X-RateLimit-Reset` (epoch milliseconds, which Segment’s libraries are written to wait for; others retry on their own backoff); nothing of the request is stored, so the retry stores it once.',
        `Limits: ${LIMITS.segmentMessageMaxBytes} bytes a message, ${LIMITS.segmentBatchMaxBytes} bytes a batch (400 beyond).`,
        'A track call’s `properties.revenue` (else `properties.value`) becomes the event’s `value`: beyond |x| ≤ 1e15 it is a 400 naming `batch.N.properties.revenue`, and nothing of the request is stored.',
      ].join('\n\n'),
      responses: { 200: json(Success, 'Accepted and durable'), ...authErrors, ...errorResponses(429) },
    }),
    async (c) => {
      if (Number(c.req.header('content-length') ?? 0) > maxBytes) {
        throw new ApiError('invalid_request', `${call === 'batch' ? 'batch' : 'message'} is larger than ${maxBytes} bytes`);
      }
      const text = await c.req.text();
      if (new TextEncoder().encode(text).byteLength > maxBytes) {
        throw new ApiError('invalid_request', `${call === 'batch' ? 'batch' : 'message'} is larger than ${maxBytes} bytes`);
      }
      const body = unwrap(parseJsonBody(text, maxBytes));
      const secret = writeKey(c, body);
      if (!secret) throw new ApiError('unauthorized', 'send the ingest key as the Basic-auth user name (Segment write key) or as "writeKey" in the body');
      const principal = await authenticate(c, secret);
      // Write keys ship inside apps and pages: only the ingest key, made to be public, belongs there.
      if (principal.kind !== 'ingest') throw new ApiError('forbidden', 'the Segment write key is a workspace’s ingest key (pk_…)');
      const workspace = await findWorkspaceById(db(c.env.DB), principal.workspaceId);
      if (!workspace) throw new ApiError('forbidden', 'this key’s workspace is gone');
      const events = unwrap(await segmentEvents(call, body, Date.now()));
      await ingestParsed(c, workspace, events, call === 'batch').catch(withRateLimitReset);
      return c.json({ success: true as const }, 200);
    },
  );
}
