import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { livekitToken, verifyLivekitWebhook } from '../auth/livekit';
import { verifyStandardWebhook } from '../auth/standard-webhooks';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, findWorkspace, type WorkspaceRow } from '../history/workspaces';
import { livekitEvent } from '../ingest/livekit';
import { parseEventPayload, parseJsonBody } from '../ingest/parse';
import { standardWebhookEvent } from '../ingest/standard-webhook';
import { IngestResult } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { ingestParsed, requestFacts, unwrap } from './ingest-helper';
import { authErrors, errorResponses, json, WsParams } from './openapi';

export const webhookRoutes = new OpenAPIHono<AppEnv>();

/**
 * The workspace and its secret for this kind of webhook. Without either, no signature can verify:
 * 401 like a wrong one (API.md), and one message for both, so the sender learns nothing of which slugs exist.
 */
async function signedWorkspace<T>(c: Context<AppEnv>, secretOf: (w: WorkspaceRow) => T | undefined, howToSet: (slug: string) => string): Promise<{ workspace: WorkspaceRow; secret: T }> {
  const slug = c.req.param('ws') ?? '';
  const workspace = await findWorkspace(db(c.env.DB), slug);
  const secret = workspace ? secretOf(workspace) : undefined;
  if (!workspace || secret === undefined) {
    throw new ApiError('invalid_signature', `no secret here verifies webhooks for workspace "${slug}": check the slug, and that the secret is set with ${howToSet(slug)} (admin key)`);
  }
  return { workspace, secret };
}

/** The raw body, as signed: signatures are checked over these exact bytes. */
async function rawBody(c: Context<AppEnv>): Promise<string> {
  if (Number(c.req.header('content-length') ?? 0) > LIMITS.bodyMaxBytes) {
    throw new ApiError('payload_too_large', `body is larger than ${LIMITS.bodyMaxBytes} bytes`);
  }
  const text = await c.req.text();
  if (new TextEncoder().encode(text).byteLength > LIMITS.bodyMaxBytes) {
    throw new ApiError('payload_too_large', `body is larger than ${LIMITS.bodyMaxBytes} bytes`);
  }
  return text;
}

/** Signed → one event through the same path as POST events (validate, normalize, one hub call). */
async function ingestOne(c: Context<AppEnv>, workspace: WorkspaceRow, input: unknown) {
  const { events } = unwrap(parseEventPayload(input));
  // The sender is a server relaying for others: its country and User-Agent describe no participant.
  return ingestParsed(c, workspace, events, false, requestFacts(c, false));
}

const signatureErrors = {
  ...authErrors,
  401: json(z.object({ error: z.object({ code: z.literal('invalid_signature'), message: z.string() }) }), 'Missing or wrong signature, or no secret for this kind of webhook set yet (or no such workspace): nothing stored'),
  ...errorResponses(413),
};

webhookRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/webhooks/livekit', tags: ['Webhooks'],
    summary: 'LiveKit webhook receiver (signed by LiveKit)',
    description: [
      'Point LiveKit’s `webhook.urls` here. `Authorization` holds LiveKit’s JWT (bare or `Bearer `), HS256 with the workspace’s LiveKit API secret, issuer = its API key, and a `sha256` claim equal to the base64 SHA-256 of the raw body.',
      'Set the credentials with `PATCH /api/v1/workspaces/{ws}` `{ "livekit": { "apiKey", "apiSecret" } }`.',
      '`room_started`/`room_finished` → `room.started`/`room.finished`; `participant_joined` → `presence.join`; `participant_left`/`participant_connection_aborted` → `presence.leave` (with `durationMs` since joining); `track_*`, `egress_*`, `ingress_*` → events of those names.',
      'Platform, os, device, sdk and connection type come from the participant’s metadata JSON or attributes, then its kind (agent, SIP, ingress, egress), then its identity or name (`ios-user-1` → iOS). The webhook `id` is the event id, so retries are duplicates.',
    ].join('\n\n'),
    request: { params: WsParams },
    responses: { 202: json(IngestResult, 'Stored (or a duplicate of a stored one)'), ...signatureErrors, ...errorResponses(429) },
  }),
  async (c) => {
    const { workspace, secret } = await signedWorkspace(
      c,
      (w) => (w.livekitApiKey && w.livekitApiSecret ? { apiKey: w.livekitApiKey, apiSecret: w.livekitApiSecret } : undefined),
      (slug) => `PATCH /api/v1/workspaces/${slug} {"livekit":{"apiKey":"…","apiSecret":"…"}}`,
    );
    const body = await rawBody(c);
    const token = livekitToken(c.req.header('authorization') ?? c.req.header('authorize'));
    const problem = await verifyLivekitWebhook(body, token, secret);
    if (problem) throw new ApiError('invalid_signature', problem);
    const event = await livekitEvent(unwrap(parseJsonBody(body)), Date.now());
    if (!event) throw new ApiError('invalid_request', 'event: a LiveKit webhook names its "event"', [{ path: 'event', message: 'required' }]);
    return c.json(await ingestOne(c, workspace, event), 202);
  },
);

webhookRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/webhooks/standard', tags: ['Webhooks'],
    summary: 'Standard Webhooks receiver (webhook-id, webhook-timestamp, webhook-signature)',
    description: [
      'Verified as https://www.standardwebhooks.com specifies: `webhook-signature` holds one or more space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the workspace’s `whsec_` secret (any may match); `webhook-timestamp` within ±5 minutes.',
      'Set the secret with `PATCH /api/v1/workspaces/{ws}` `{ "webhookSecret": "whsec_…" }`.',
      'Body `{ "type", "timestamp"?, "data" }` → one event of that type; scalar `data` fields become properties (`userId`, `sessionId`, `room`, `durationMs`, `value`, `error` also fill the event’s own fields). The `webhook-id` is the event id: a replay is a duplicate.',
    ].join('\n\n'),
    request: { params: WsParams },
    responses: { 202: json(IngestResult, 'Stored (or a duplicate of a stored one)'), ...signatureErrors, ...errorResponses(429) },
  }),
  async (c) => {
    const { workspace, secret } = await signedWorkspace(
      c,
      (w) => w.webhookSecret ?? undefined,
      (slug) => `PATCH /api/v1/workspaces/${slug} {"webhookSecret":"whsec_…"}`,
    );
    const body = await rawBody(c);
    const headers = { id: c.req.header('webhook-id'), timestamp: c.req.header('webhook-timestamp'), signature: c.req.header('webhook-signature') };
    const problem = await verifyStandardWebhook(body, headers, secret);
    if (problem) throw new ApiError('invalid_signature', problem);
    const event = await standardWebhookEvent(unwrap(parseJsonBody(body)), headers.id!, Number(headers.timestamp) * 1000);
    return c.json(await ingestOne(c, workspace, event), 202);
  },
);
