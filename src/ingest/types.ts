import type { ContextField } from '../shared/events';

/** An accepted event after validation, defaults and enrichment: what the hub, outbox and D1 hold. */
export interface NormalizedEvent {
  id: string;
  type: string;
  /** epoch ms */
  ts: number;
  receivedAt: number;
  userId: string | null;
  sessionId: string | null;
  room: string | null;
  durationMs: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  error: string | null;
  value: number | null;
  /**
   * Sampled levels, only when the event had some (outbox rows from before gauges have none).
   * Carried in the outbox, the live path, gauge rollups and the archive's `gauges` column.
   */
  gauges?: Record<string, number>;
  properties: Record<string, string | number | boolean | null>;
  context: Partial<Record<ContextField, string>>;
}

export interface WorkspaceRef {
  id: string;
  slug: string;
  timezone: string;
  /** Ingestion rate limit in events a second (absent: LIMITS.defaultEventsPerSecond). */
  eventsPerSecond?: number;
  /** Property names the drain rolls up like the built-in dimensions (absent: none). */
  rollupProperties?: string[];
}

/** Whether a hub must store a newer ref: anything the drain or the live state reads changed. */
export function refChanged(known: WorkspaceRef | undefined, ref: WorkspaceRef): boolean {
  return !known || known.id !== ref.id || known.slug !== ref.slug || known.timezone !== ref.timezone
    || (known.rollupProperties ?? []).join('\u0000') !== (ref.rollupProperties ?? []).join('\u0000');
}

/** What the server knows of the request that carried the events. */
export interface RequestFacts {
  now: number;
  country?: string;
  userAgent?: string;
}

export interface InputIssue {
  path: string;
  message: string;
}

export type ParseOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; status: 400 | 413 | 415; code: 'invalid_request' | 'payload_too_large' | 'unsupported_media_type'; message: string; issues?: InputIssue[] };
