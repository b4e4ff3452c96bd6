import { CONTEXT_FIELDS, type ParsedEventInput } from '../shared/events';
import { EVENT_ID_RE, EVENT_TYPE_RE, GAUGE_NAME_RE, LIMITS, ROOM_RE } from '../shared/limits';

const CONTEXT = new Set<string>(CONTEXT_FIELDS);
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= LIMITS.bytesMax;
/** A finite number within ±max (NaN fails every comparison). */
const within = (v: unknown, max: number): v is number => typeof v === 'number' && v >= -max && v <= max;

/**
 * The plain, valid event most requests send, checked by hand: returns the same value EventInput
 * would, or null whenever anything is unusual (unknown keys, odd values, anything invalid), and
 * the caller asks zod, which alone words the errors. A zod parse costs more than the rest of an event.
 */
export function fastEventInput(raw: unknown): ParsedEventInput | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || Object.getPrototypeOf(raw) !== Object.prototype) return null;
  const e = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in e) {
    const v = e[key];
    switch (key) {
      case 'id':
        if (typeof v !== 'string' || !EVENT_ID_RE.test(v)) return null;
        break;
      case 'type':
        if (typeof v !== 'string' || !EVENT_TYPE_RE.test(v)) return null;
        break;
      case 'timestamp': {
        const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
        if (!Number.isFinite(ms) || ms < 946684800000 || ms > 32503680000000) return null;
        out.timestamp = Math.trunc(ms);
        continue;
      }
      case 'userId':
        if (!isText(v, LIMITS.userIdMaxLength)) return null;
        break;
      case 'sessionId':
        if (!isText(v, LIMITS.sessionIdMaxLength)) return null;
        break;
      case 'room':
        if (typeof v !== 'string' || !ROOM_RE.test(v)) return null;
        break;
      case 'error':
        if (!isText(v, LIMITS.errorMaxLength)) return null;
        break;
      case 'durationMs':
        if (!within(v, LIMITS.durationMsMax) || v < 0) return null;
        break;
      case 'value':
        if (!within(v, LIMITS.valueAbsMax)) return null;
        break;
      case 'gauges':
        if (!plainGauges(v)) return null;
        break;
      case 'bytesIn':
      case 'bytesOut':
        if (!isCount(v)) return null;
        break;
      case 'properties':
        if (!plainProperties(v)) return null;
        break;
      case 'context':
        if (!plainContext(v)) return null;
        break;
      default:
        return null; // zod strips unknown keys: let it
    }
    out[key] = v;
  }
  return typeof out.type === 'string' ? (out as ParsedEventInput) : null;
}

function plainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function plainProperties(v: unknown): boolean {
  if (!plainObject(v)) return false;
  let n = 0;
  for (const key in v) {
    if (++n > LIMITS.propertiesMaxKeys || key.length < 1 || key.length > LIMITS.typeMaxLength || key === '__proto__') return false;
    const x = v[key];
    if (typeof x === 'string' ? x.length > LIMITS.propertyStringMaxLength : !(x === null || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))) return false;
  }
  return true;
}

function plainGauges(v: unknown): boolean {
  if (!plainObject(v)) return false;
  let n = 0;
  for (const key in v) {
    if (++n > LIMITS.gaugesMaxKeys || !GAUGE_NAME_RE.test(key) || !within(v[key], LIMITS.gaugeAbsMax)) return false;
  }
  return true;
}

function plainContext(v: unknown): boolean {
  if (!plainObject(v)) return false;
  for (const key in v) {
    const x = v[key];
    if (!CONTEXT.has(key) || typeof x !== 'string' || x.length > LIMITS.contextStringMaxLength) return false;
  }
  return true;
}
