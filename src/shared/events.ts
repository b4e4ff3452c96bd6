import { z } from 'zod';
import { EVENT_ID_RE, EVENT_TYPE_RE, GAUGE_NAME_RE, LIMITS, ROOM_RE } from './limits';

/** ISO 8601 string or epoch milliseconds; parsed to epoch ms. */
export const TimeInput = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : Date.parse(v);
    if (!Number.isFinite(ms) || ms < 946684800000 || ms > 32503680000000) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or epoch milliseconds' });
      return z.NEVER;
    }
    return Math.trunc(ms);
  });

const shortText = (max: number) => z.string().min(1).max(max);

export const PropertyValue = z.union([
  z.string().max(LIMITS.propertyStringMaxLength),
  z.number(),
  z.boolean(),
  z.null(),
]);

export const EventProperties = z
  .record(z.string().min(1).max(LIMITS.typeMaxLength), PropertyValue)
  .refine((p) => Object.keys(p).length <= LIMITS.propertiesMaxKeys, {
    message: `at most ${LIMITS.propertiesMaxKeys} keys`,
  });

const byteCount = z
  .number()
  .int('must be an integer')
  .min(0, 'must be ≥ 0')
  .max(LIMITS.bytesMax, 'must be ≤ 2^53−1 (9007199254740991)');

/** Sampled levels (`{ "cpu": 0.73 }`): a name per GAUGE_NAME_RE, a finite number within ±1e15. */
export const EventGauges = z
  .record(
    z.string().regex(GAUGE_NAME_RE, 'a gauge name is a letter, then up to 63 letters, digits, _ . : or -'),
    z.number().min(-LIMITS.gaugeAbsMax, 'must be ≥ -1e15').max(LIMITS.gaugeAbsMax, 'must be ≤ 1e15'),
  )
  .refine((g) => Object.keys(g).length <= LIMITS.gaugesMaxKeys, { message: `at most ${LIMITS.gaugesMaxKeys} gauges` });

export const CONTEXT_FIELDS = [
  'platform', 'os', 'browser', 'device', 'sdk', 'country', 'url', 'referrer', 'userAgent', 'connectionType',
] as const;
export type ContextField = (typeof CONTEXT_FIELDS)[number];

export const EventContext = z
  .object(
    Object.fromEntries(
      CONTEXT_FIELDS.map((f) => [f, z.string().max(LIMITS.contextStringMaxLength).optional()]),
    ) as Record<ContextField, z.ZodOptional<z.ZodString>>,
  )
  .partial();

export const EventInput = z
  .object({
    id: z.string().regex(EVENT_ID_RE, 'must match ^[A-Za-z0-9_-]{1,64}$').optional(),
    type: z.string().regex(EVENT_TYPE_RE, '1–64 printable characters, no leading or trailing space'),
    timestamp: TimeInput.optional(),
    userId: shortText(LIMITS.userIdMaxLength).optional(),
    sessionId: shortText(LIMITS.sessionIdMaxLength).optional(),
    room: z.string().regex(ROOM_RE, 'must match ^[A-Za-z0-9._:@-]{1,128}$').optional(),
    durationMs: z
      .number()
      .min(0, 'must be ≥ 0')
      .max(LIMITS.durationMsMax, 'must be ≤ 1e10 (ms, about 115 days)')
      .optional()
      .meta({ description: 'Response time, latency, view time … in ms, 0 ≤ x ≤ 1e10 → percentiles' }),
    bytesIn: byteCount.optional().meta({ description: 'Integer, 0 ≤ x ≤ 2^53−1 → bandwidth' }),
    bytesOut: byteCount.optional().meta({ description: 'Integer, 0 ≤ x ≤ 2^53−1 → bandwidth' }),
    error: shortText(LIMITS.errorMaxLength).optional(),
    value: z
      .number()
      .min(-LIMITS.valueAbsMax, 'must be ≥ -1e15')
      .max(LIMITS.valueAbsMax, 'must be ≤ 1e15')
      .optional()
      .meta({ description: 'Tokens, revenue … → sums; |x| ≤ 1e15' }),
    gauges: EventGauges.optional().meta({
      description: `Sampled levels (\`{ "cpu": 0.73, "queueDepth": 12 }\`): at most ${LIMITS.gaugesMaxKeys}, names like \`cpu\` or \`queue.depth\` (a letter, then letters, digits, _ . : -; ≤ 64), finite numbers with |x| ≤ 1e15`,
    }),
    properties: EventProperties.optional(),
    context: EventContext.optional(),
  })
  .meta({ id: 'EventInput' });
export type EventInput = z.input<typeof EventInput>;
export type ParsedEventInput = z.output<typeof EventInput>;

export const EventBatchInput = z.object({
  events: z.array(EventInput).min(1).max(LIMITS.batchMaxEvents),
});

export const IngestResult = z
  .object({ accepted: z.number().int(), duplicates: z.number().int() })
  .meta({ id: 'IngestResult' });
export type IngestResult = z.infer<typeof IngestResult>;

/** An event as stored and read back. */
export const StoredEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    timestamp: z.string(),
    receivedAt: z.string(),
    userId: z.string().nullable(),
    sessionId: z.string().nullable(),
    room: z.string().nullable(),
    durationMs: z.number().nullable(),
    bytesIn: z.number().nullable(),
    bytesOut: z.number().nullable(),
    error: z.string().nullable(),
    value: z.number().nullable(),
    properties: z.record(z.string(), PropertyValue),
    context: z.record(z.string(), z.string()),
  })
  .meta({ id: 'Event' });
export type StoredEvent = z.infer<typeof StoredEvent>;

export const EventPage = z.object({ events: z.array(StoredEvent), nextCursor: z.string().nullable() });
export type EventPage = z.infer<typeof EventPage>;
