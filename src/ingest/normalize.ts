import type { ParsedEventInput } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { enrich, parseUserAgent } from './enrich';
import { invalid } from './parse';
import type { InputIssue, NormalizedEvent, ParseOutcome, RequestFacts } from './types';

/** A sortable, collision-resistant id for events sent without one. */
export function newEventId(now: number): string {
  return `${now.toString(36).padStart(9, '0')}${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** Validated inputs → normalized, enriched events; rejects timestamps too far ahead. */
export function normalizeEvents(
  inputs: ParsedEventInput[],
  facts: RequestFacts,
  isBatch: boolean,
): ParseOutcome<NormalizedEvent[]> {
  const issues: InputIssue[] = [];
  const inferred = parseUserAgent(facts.userAgent);
  const out: NormalizedEvent[] = [];
  inputs.forEach((e, i) => {
    const ts = e.timestamp ?? facts.now;
    if (ts > facts.now + LIMITS.futureSkewMs) {
      issues.push({ path: `${isBatch ? `events.${i}.` : ''}timestamp`, message: 'more than 5 minutes in the future' });
      return;
    }
    const event: NormalizedEvent = {
      id: e.id ?? newEventId(facts.now),
      type: e.type,
      ts,
      receivedAt: facts.now,
      userId: e.userId ?? null,
      sessionId: e.sessionId ?? null,
      room: e.room ?? null,
      durationMs: e.durationMs ?? null,
      bytesIn: e.bytesIn ?? null,
      bytesOut: e.bytesOut ?? null,
      error: e.error ?? null,
      value: e.value ?? null,
      properties: e.properties ?? {},
      context: { ...(e.context ?? {}) },
    };
    if (e.gauges && Object.keys(e.gauges).length) event.gauges = e.gauges;
    out.push(enrich(event, facts, inferred));
  });
  return issues.length ? invalid(issues) : { ok: true, value: out };
}
