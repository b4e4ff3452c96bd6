import type { z } from 'zod';
import { EventInput, type ParsedEventInput } from '../shared/events';
import { LIMITS } from '../shared/limits';
import { fastEventInput } from './fast-check';
import type { InputIssue, ParseOutcome } from './types';

const encoder = new TextEncoder();

export function zodIssues(error: z.ZodError, prefix: (string | number)[] = []): InputIssue[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path].map(String).join('.') || '(body)',
    message: i.message,
  }));
}

export function invalid(issues: InputIssue[]): ParseOutcome<never> {
  const first = issues[0];
  return {
    ok: false,
    status: 400,
    code: 'invalid_request',
    message: first ? `${first.path}: ${first.message}` : 'invalid request',
    issues,
  };
}

/** JSON text → value, with the 1 MiB body limit and a clear message for bad JSON. */
export function parseJsonBody(text: string, maxBytes: number = LIMITS.bodyMaxBytes): ParseOutcome<unknown> {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most bodies need no encoding to be measured.
  if (text.length * 3 > maxBytes && encoder.encode(text).byteLength > maxBytes) {
    return { ok: false, status: 413, code: 'payload_too_large', message: `body is larger than ${maxBytes} bytes` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return invalid([{ path: '(body)', message: `not valid JSON: ${(err as Error).message}` }]);
  }
}

/** JSON text of a parsed value, or undefined when it nests too deeply to write (JSON.parse accepts deeper than JSON.stringify). */
export function stringifyParsed(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return undefined;
  }
}

/**
 * One event or `{ events: [...] }` → validated inputs, all or nothing.
 * Issue paths name `events.N.field` for batches and `field` for a single event.
 */
export function parseEventPayload(body: unknown): ParseOutcome<{ events: ParsedEventInput[]; isBatch: boolean }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid([{ path: '(body)', message: 'expected an event object or { "events": [...] }' }]);
  }
  const isBatch = 'events' in body;
  const raw = isBatch ? (body as { events: unknown }).events : [body];
  if (!Array.isArray(raw)) return invalid([{ path: 'events', message: 'expected an array of events' }]);
  if (raw.length === 0) return invalid([{ path: 'events', message: 'must hold at least 1 event' }]);
  if (raw.length > LIMITS.batchMaxEvents) {
    return invalid([{ path: 'events', message: `at most ${LIMITS.batchMaxEvents} events per request, got ${raw.length}` }]);
  }
  const issues: InputIssue[] = [];
  const parsed: ParsedEventInput[] = [];
  for (let i = 0; i < raw.length; i++) {
    const prefix = isBatch ? ['events', i] : [];
    const json = stringifyParsed(raw[i]);
    if (json === undefined) {
      issues.push({ path: prefix.length ? prefix.join('.') : '(body)', message: 'nests too deeply' });
      continue;
    }
    const size = json.length * 3 <= LIMITS.eventMaxBytes ? json.length : encoder.encode(json).byteLength;
    if (size > LIMITS.eventMaxBytes) {
      const path = prefix.length ? prefix.join('.') : '(body)';
      return {
        ok: false,
        status: 413,
        code: 'payload_too_large',
        message: `${path}: event is ${size} bytes, the limit is ${LIMITS.eventMaxBytes}`,
        issues: [{ path, message: `larger than ${LIMITS.eventMaxBytes} bytes` }],
      };
    }
    const fast = fastEventInput(raw[i]);
    if (fast) {
      parsed.push(fast);
      continue;
    }
    const result = EventInput.safeParse(raw[i]);
    if (result.success) parsed.push(result.data);
    else issues.push(...zodIssues(result.error, prefix));
  }
  return issues.length ? invalid(issues) : { ok: true, value: { events: parsed, isBatch } };
}
