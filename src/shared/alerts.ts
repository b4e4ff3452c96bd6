import { z } from 'zod';
import { GAUGE_NAME_RE, LIMITS, ROOM_RE } from './limits';

/** API.md "Alerts and scheduled reports": the wire shapes of rules, schedules and their deliveries. */

export const ALERT_METRICS = ['eventsPerSecond', 'events', 'errors', 'errorRate', 'latencyP95', 'latencyP99', 'onlineUsers', 'roomParticipants', 'gauge'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

export const DeliveryFormat = z.enum(['standard', 'slack']);
export type DeliveryFormat = z.infer<typeof DeliveryFormat>;

export const Destination = z
  .object({
    url: z.string().min(1).max(LIMITS.destinationUrlMaxLength).meta({
      description: '`https:` URL that receives the POSTs; plain `http:` only to localhost while running locally (`npm start`)',
    }),
    format: DeliveryFormat.default('standard').meta({ description: '`standard`: Standard Webhooks JSON, signed; `slack`: Slack’s incoming-webhook body `{ text, blocks }`' }),
  })
  .meta({ id: 'Destination' });
export type Destination = z.infer<typeof Destination>;

export const AlertFilter = z
  .object({
    type: z.string().min(1).max(LIMITS.typeMaxLength).optional().meta({ description: 'only events of this type' }),
    room: z.string().regex(ROOM_RE).optional().meta({ description: 'only events (or participants) of this room' }),
    gauge: z.string().regex(GAUGE_NAME_RE).optional().meta({ description: 'the gauge a `gauge` rule watches (required then)' }),
  })
  .strict()
  .meta({ id: 'AlertFilter' });
export type AlertFilter = z.infer<typeof AlertFilter>;

const alertFields = {
  name: z.string().min(1).max(LIMITS.alertNameMaxLength),
  metric: z.enum(ALERT_METRICS),
  filter: AlertFilter.optional(),
  op: z.enum(['>', '<']),
  threshold: z.number().finite().min(-LIMITS.valueAbsMax).max(LIMITS.valueAbsMax),
  windowMinutes: z.number().int().min(1).max(60),
  forMinutes: z.number().int().min(0).max(60),
  destination: Destination,
  enabled: z.boolean().optional(),
};

export const AlertInput = z.object(alertFields).strict().meta({ id: 'AlertInput' });
export type AlertInput = z.infer<typeof AlertInput>;

export const AlertPatch = z.object(alertFields).partial().strict().meta({ id: 'AlertPatch' });
export type AlertPatch = z.infer<typeof AlertPatch>;

export const AlertState = z.enum(['ok', 'firing']);
export type AlertState = z.infer<typeof AlertState>;

export const Alert = z
  .object({
    id: z.string(),
    name: z.string(),
    metric: z.enum(ALERT_METRICS),
    filter: AlertFilter,
    op: z.enum(['>', '<']),
    threshold: z.number(),
    windowMinutes: z.number().int(),
    forMinutes: z.number().int(),
    destination: z.object({ url: z.string(), format: DeliveryFormat }),
    enabled: z.boolean(),
    state: AlertState,
    since: z.string().nullable().meta({ description: 'when the rule entered its state (ISO, UTC); null before its first transition' }),
    value: z.number().nullable().meta({ description: 'the metric’s value at the last transition' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Alert' });
export type Alert = z.infer<typeof Alert>;

export const AlertCreated = z.object({ alert: Alert, secret: z.string().meta({ description: '`whsec_…`, shown once: verifies the deliveries' }) }).meta({ id: 'AlertCreated' });

export const DELIVERY_TYPES = ['alert.firing', 'alert.resolved', 'alert.test', 'report.scheduled'] as const;
export type DeliveryType = (typeof DELIVERY_TYPES)[number];

export const Delivery = z
  .object({
    id: z.string().meta({ description: 'the `webhook-id`, the same on every attempt' }),
    type: z.enum(DELIVERY_TYPES),
    status: z.enum(['pending', 'delivered', 'failed']).meta({ description: '`pending` while attempts go on (retried with backoff for 24 h), then `delivered` or `failed`' }),
    attempts: z.number().int(),
    at: z.string().meta({ description: 'when the delivery was created (ISO, UTC)' }),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    responseStatus: z.number().int().nullable().meta({ description: 'HTTP status of the last attempt; null when it got none (timeout, refused)' }),
    error: z.string().nullable(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;

/** The data of `alert.firing` / `alert.resolved` / `alert.test`. */
export interface AlertEventData {
  alertId: string;
  name: string;
  workspace: string;
  metric: AlertMetric;
  value: number | null;
  op: '>' | '<';
  threshold: number;
  since: string | null;
  dashboardUrl: string;
}

/** A firing rule as the live view shows it (`Stats.firingAlerts`). */
export const FiringAlert = z
  .object({ id: z.string(), name: z.string(), metric: z.enum(ALERT_METRICS), op: z.enum(['>', '<']), threshold: z.number(), value: z.number().nullable(), since: z.string() })
  .meta({ id: 'FiringAlert' });
export type FiringAlert = z.infer<typeof FiringAlert>;

export const ScheduleInput = z
  .object({
    name: z.string().min(1).max(LIMITS.alertNameMaxLength),
    every: z.enum(['day', 'week']),
    hour: z.number().int().min(0).max(23).meta({ description: 'hour of the workspace’s local day' }),
    weekday: z.number().int().min(0).max(6).optional().meta({ description: '0 = Sunday; for `every: week` (default 1, Monday)' }),
    destination: Destination,
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'ScheduleInput' });
export type ScheduleInput = z.infer<typeof ScheduleInput>;

/** Extension: PATCH …/schedules/{id} changes any field of ScheduleInput (the secret stays). */
export const SchedulePatch = ScheduleInput.partial().strict().meta({ id: 'SchedulePatch' });
export type SchedulePatch = z.infer<typeof SchedulePatch>;

export const Schedule = z
  .object({
    id: z.string(),
    name: z.string(),
    every: z.enum(['day', 'week']),
    hour: z.number().int(),
    weekday: z.number().int().nullable(),
    destination: z.object({ url: z.string(), format: DeliveryFormat }),
    enabled: z.boolean(),
    lastSentAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.infer<typeof Schedule>;

export const ScheduleCreated = z.object({ schedule: Schedule, secret: z.string() }).meta({ id: 'ScheduleCreated' });
