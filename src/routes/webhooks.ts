import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { livekitToken, verifyLivekitWebhook } from '../auth/livekit';
import { verifyStandardWebhook } from '../auth/standard-webhooks';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, findWorkspace, type WorkspaceRow } from '../history/workspaces';
import { livekitEvent } from '../ingest/livekit';
import { parseEventPayload, parseJsonBody } from '../ingest/parse';
import { standardWebhookEvent, validateStandardWebhookEvent } from '../ingest/standard-webhook';
import { IngestResult } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { ingestParsed, requestFacts, unwrap } from './ingest-helper';
import { authErrors, errorResponses, json, WsParams } from './openapi';

export const webhookRoutes = new OpenAPIHono<AppEnv>();

/** A per-isolate random key that verifies nothing: the HMAC work is done even where no secret is set. */
let dummyKey: string | undefined;
// Made on first use: Workers allow no random values in global scope.
const dummy = () => (dummyKey ??= `dummy-${crypto.randomUUID()}`);

/**
 * The workspace and its secret for this kind of webhook, or a dummy secret when there is neither:
 * the signature is checked either way, and every failure gets the same answer, so a sender learns
 * nothing of which workspaces exist or have a secret.
 */
async function signingSecret<T>(c: Context<AppEnv>, secretOf: (w: WorkspaceRow) => T | undefined, dummy: T): Promise<{ workspace: WorkspaceRow | undefined; secret: T }> {
  const workspace = await findWorkspace(db(c.env.DB), c.req.param('ws') ?? '');
  const secret = workspace ? secretOf(workspace) : undefined;
  return workspace && secret !== undefined ? { workspace, secret } : { workspace: undefined, secret: dummy };
}

/** The one answer to an unverified webhook (byte for byte the same, whatever failed). */
const unverified = (what: string, howToSet: string) =>
  new ApiError('invalid_signature', `${what} does not verify, so nothing was stored. Check the signing secret, which is set with PATCH /api/v1/workspaces/{ws} ${howToSet} (admin key), the workspace slug in the URL, and the sender's clock`);

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
  401: json(z.object({ error: z.object({ code: z.literal('invalid_signature'), message: z.string() }) }), 'Missing or wrong signature, stale timestamp, no secret for this kind of webhook set yet, or no such workspace: one answer for all (byte for byte), so it tells nothing of which workspaces exist or have a secret; nothing stored'),
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
    const body = await rawBody(c);
    const { workspace, secret } = await signingSecret(
      c,
      (w) => (w.livekitApiKey && w.livekitApiSecret ? { apiKey: w.livekitApiKey, apiSecret: w.livekitApiSecret } : undefined),
      { apiKey: dummy(), apiSecret: dummy() },
    );
    const token = livekitToken(c.req.header('authorization') ?? c.req.header('authorize'));
    const problem = await verifyLivekitWebhook(body, token, secret);
    if (problem || !workspace) {
      throw unverified('The LiveKit webhook token (Authorization: an HS256 JWT from the API key, signed with the API secret, unexpired, with the body’s sha256)', '{"livekit":{"apiKey":"…","apiSecret":"…"}}');
    }
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
      'A number in `data.durationMs` or `data.value` outside the event’s bounds (0 ≤ durationMs ≤ 1e10, |value| ≤ 1e15) is a 400 `invalid_request` naming it, and nothing is stored.',
    ].join('\n\n'),
    request: { params: WsParams },
    responses: { 202: json(IngestResult, 'Stored (or a duplicate of a stored one)'), ...signatureErrors, ...errorResponses(429) },
  }),
  async (c) => {
    const body = await rawBody(c);
    const { workspace, secret } = await signingSecret(c, (w) => w.webhookSecret ?? undefined, `whsec_${btoa(dummy())}`);
    const headers = { id: c.req.header('webhook-id'), timestamp: c.req.header('webhook-timestamp'), signature: c.req.header('webhook-signature') };
    const problem = await verifyStandardWebhook(body, headers, secret);
    if (problem || !workspace) {
      throw unverified('The Standard Webhooks signature (webhook-id, webhook-timestamp within 5 minutes of now, webhook-signature v1 HMAC-SHA256 of id.timestamp.body)', '{"webhookSecret":"whsec_…"}');
    }
    const event = await standardWebhookEvent(unwrap(parseJsonBody(body)), headers.id!, Number(headers.timestamp) * 1000);
    const events = unwrap(validateStandardWebhookEvent(event));
    // The sender is a server relaying for others: its country and User-Agent describe no participant.
    return c.json(await ingestParsed(c, workspace, events, false, requestFacts(c, false)), 202);
  },
);
