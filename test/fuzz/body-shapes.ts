import type { JsonSchema } from './schema-arb';

/**
 * Body shapes of the routes whose OpenAPI entry declares no JSON body (webhooks and Segment take raw
 * bytes, to verify signatures or accept Segment's quirks): written here from API.md and the parsers.
 */
const scalar: JsonSchema = { type: ['string', 'number', 'boolean', 'null'] };
const record: JsonSchema = { type: 'object', additionalProperties: scalar };

const segmentMessage: JsonSchema = {
  type: 'object',
  properties: {
    type: { enum: ['track', 'page', 'screen', 'identify', 'group', 'alias'] },
    event: { type: 'string', maxLength: 200 },
    name: { type: 'string' },
    category: { type: 'string' },
    userId: { type: ['string', 'number'] },
    anonymousId: { type: 'string' },
    messageId: { type: 'string', maxLength: 100 },
    groupId: { type: ['string', 'number'] },
    previousId: { type: 'string' },
    timestamp: { type: ['string', 'number'] },
    originalTimestamp: { type: 'string' },
    properties: { type: 'object', properties: { revenue: { type: 'number' }, value: { type: 'number' } }, additionalProperties: scalar },
    traits: record,
    context: { type: 'object', properties: { userAgent: { type: 'string' }, page: { type: 'object', properties: { url: { type: 'string' } } }, traits: record, ip: { type: 'string' } }, additionalProperties: scalar },
    writeKey: { type: 'string' },
  },
};

const segmentBatch: JsonSchema = {
  type: 'object',
  properties: { batch: { type: 'array', items: { ...segmentMessage, required: ['type'] }, maxItems: 100 }, context: segmentMessage.properties!.context, writeKey: { type: 'string' }, sentAt: { type: 'string' } },
  required: ['batch'],
};

const int64: JsonSchema = { type: ['string', 'integer'], minimum: 0, maximum: 2e12 };
const livekitBody: JsonSchema = {
  type: 'object',
  properties: {
    event: { enum: ['room_started', 'room_finished', 'participant_joined', 'participant_left', 'participant_connection_aborted', 'track_published', 'track_unpublished', 'egress_started', 'egress_updated', 'egress_ended', 'ingress_started', 'ingress_ended', 'unknown_event'] },
    id: { type: 'string', maxLength: 100 },
    createdAt: int64,
    room: { type: 'object', properties: { sid: { type: 'string' }, name: { type: 'string' }, numParticipants: int64, maxParticipants: int64, creationTime: int64, creationTimeMs: int64 } },
    participant: {
      type: 'object',
      properties: {
        sid: { type: 'string' }, identity: { type: 'string' }, name: { type: 'string' }, region: { type: 'string' },
        metadata: { enum: ['{"platform":"iOS","connectionType":"turn"}', '{"__proto__":{"x":1}}', '{', '{}', '[1]', '{"a":' + '['.repeat(50)] },
        kind: { enum: ['STANDARD', 'AGENT', 'SIP', 'EGRESS', 'INGRESS', 'x'] },
        attributes: record, joinedAt: int64, joinedAtMs: int64, disconnectReason: { type: ['string', 'integer'] },
      },
    },
    track: { type: 'object', properties: { sid: { type: 'string' }, type: { type: 'string' }, source: { type: 'string' }, muted: { type: 'boolean' }, simulcast: { type: 'boolean' }, width: int64, height: int64 } },
    egressInfo: { type: 'object', properties: { egressId: { type: 'string' }, roomName: { type: 'string' }, status: { type: ['string', 'integer'] }, error: { type: 'string' }, startedAt: int64, endedAt: int64 } },
    ingressInfo: { type: 'object', properties: { ingressId: { type: 'string' }, name: { type: 'string' }, roomName: { type: 'string' }, participantIdentity: { type: 'string' }, inputType: { type: ['string', 'integer'] }, state: { type: 'object', properties: { status: { type: ['string', 'integer'] }, error: { type: 'string' } } } } },
  },
  required: ['event'],
};

const standardBody: JsonSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', maxLength: 64 },
    timestamp: { type: ['string', 'number'] },
    data: {
      type: 'object',
      properties: { userId: { type: 'string' }, sessionId: { type: 'string' }, room: { type: 'string' }, durationMs: { type: 'number' }, value: { type: 'number' }, error: { type: 'string' }, bytesIn: { type: 'integer' } },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null', 'object', 'array'] },
    },
  },
  required: ['type', 'data'],
};

/** The supplementary body shape of a route, by its OpenAPI template. */
export function supplementaryBody(route: string): JsonSchema | undefined {
  if (route === 'POST /v1/batch') return segmentBatch;
  if (route.startsWith('POST /v1/')) return segmentMessage;
  if (route.endsWith('/webhooks/livekit')) return livekitBody;
  if (route.endsWith('/webhooks/standard')) return standardBody;
  return undefined;
}
