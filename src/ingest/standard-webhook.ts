import type { EventInput, ParsedEventInput } from '../shared/events';
import { EVENT_ID_RE, LIMITS, ROOM_RE } from '../shared/limits';
import { externalEventId, scalarProperties } from './ids';
import { parseEventPayload } from './parse';
import type { ParseOutcome } from './types';

type Json = Record<string, unknown>;

/** `data` fields that, when they fit, fill the event's own fields too. */
const LIFTED = {
  userId: (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= LIMITS.userIdMaxLength,
  sessionId: (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= LIMITS.sessionIdMaxLength,
  room: (v: unknown) => typeof v === 'string' && ROOM_RE.test(v),
  error: (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= LIMITS.errorMaxLength,
  // Any number is lifted: one outside the event's bounds is a 400 naming `data.durationMs` (API.md: numbers outside their bounds are a 400).
  durationMs: (v: unknown) => typeof v === 'number',
  value: (v: unknown) => typeof v === 'number',
} as const;

/**
 * A verified Standard Webhooks body `{ type, timestamp?, data }` → one event input; the webhook-id is
 * its id (hashed when outside the id charset), so a replay is a duplicate. Validated by the caller.
 */
export async function standardWebhookEvent(body: unknown, webhookId: string, sentAt: number): Promise<EventInput> {
  const root = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Json;
  const data = (root.data && typeof root.data === 'object' && !Array.isArray(root.data) ? root.data : {}) as Json;
  const event: EventInput = {
    id: EVENT_ID_RE.test(webhookId) ? webhookId : await externalEventId(webhookId),
    type: root.type as string,
    timestamp: (root.timestamp as string | number | undefined) ?? sentAt,
    properties: scalarProperties(data),
  };
  for (const [field, fits] of Object.entries(LIFTED)) {
    if (fits(data[field])) (event as Record<string, unknown>)[field] = data[field];
  }
  return event;
}

/** The mapped event validated like any other, its issues named by the body field they came from (`data.durationMs`). */
export function validateStandardWebhookEvent(event: EventInput): ParseOutcome<ParsedEventInput[]> {
  const outcome = parseEventPayload(event);
  if (outcome.ok) return { ok: true, value: outcome.value.events };
  const path = (p: string) => (Object.hasOwn(LIFTED, p) ? `data.${p}` : p.startsWith('properties.') ? `data.${p.slice('properties.'.length)}` : p);
  const issues = outcome.issues?.map((i) => ({ ...i, path: path(i.path) }));
  return { ...outcome, message: issues?.[0] ? `${issues[0].path}: ${issues[0].message}` : outcome.message, issues };
}
