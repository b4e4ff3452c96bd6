import { EVENT_ID_RE, LIMITS, ROOM_RE } from '../shared/limits';

const hex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * An outside id (webhook id, Segment messageId) → an event id: kept when it already fits the id
 * charset, else hashed, so that the same outside id always gives the same event id (de-duplication).
 */
export async function externalEventId(raw: unknown): Promise<string | undefined> {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  if (EVENT_ID_RE.test(raw)) return raw;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(raw));
  return `h_${hex(digest).slice(0, 40)}`;
}

/** Any room name → one the room charset takes (`^[A-Za-z0-9._:@-]{1,128}$`), or undefined when empty. */
export function roomName(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  if (ROOM_RE.test(raw)) return raw;
  const cleaned = raw.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, LIMITS.roomMaxLength);
  return cleaned || undefined;
}

/** A free-form id (identity, user id) cut to the user id limit. */
export function shortId(raw: unknown, max: number = LIMITS.userIdMaxLength): string | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw)) raw = String(raw);
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim().slice(0, max);
  return s || undefined;
}

export type Scalar = string | number | boolean | null;

/** Scalar fields of an object as event properties: nested values dropped, strings and key count capped. */
export function scalarProperties(obj: unknown, into: Record<string, Scalar> = {}): Record<string, Scalar> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return into;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (Object.keys(into).length >= LIMITS.propertiesMaxKeys) break;
    // "__proto__" would set the object's prototype, not a property (zod drops it from events too).
    if (!k || k.length > LIMITS.typeMaxLength || k === '__proto__') continue;
    if (typeof v === 'string') into[k] = v.slice(0, LIMITS.propertyStringMaxLength);
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || v === null) into[k] = v;
  }
  return into;
}
