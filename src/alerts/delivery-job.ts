import type { DeliveryType, Destination } from '../shared/alerts';

/**
 * One POST to deliver, as the hub's delivery queue keeps it (durable, retried with backoff for
 * LIMITS.deliveryRetryMs): alert transitions, tests and scheduled reports all go through it.
 */
export interface DeliveryJob {
  /** The `webhook-id`: the same on every attempt; enqueueing an id already queued is a no-op. */
  id: string;
  /** The rule or schedule it belongs to: its deliveries log (the last LIMITS.deliveriesListed). */
  ownerId: string;
  type: DeliveryType;
  destination: Destination;
  /** `whsec_…` of the rule or schedule. */
  secret: string;
  /** The body's `{ type, timestamp, data }` (Slack's body is derived from it at send time). */
  payload: { type: DeliveryType; timestamp: string; data: Record<string, unknown> };
}
