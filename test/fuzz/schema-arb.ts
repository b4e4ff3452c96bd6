import fc from 'fast-check';
import { anyJson, extremeNumber, hostileString, wrongType } from './values';

/** A JSON Schema node as the OpenAPI document carries it (the parts the fuzzer reads). */
export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  default?: unknown;
  example?: unknown;
}

/** Values a field of that name takes in real traffic, so valid-shaped bodies reach deep code (rooms, users, times). */
const now = Date.now();
// Three days back: day boundaries and rollup grains are crossed, while raw questions (which open one
// archive file per hour touched) stay quick enough for thousands of cases.
const recent = fc.integer({ min: now - 3 * 86_400_000, max: now + 60_000 });
const cleanNamed: Record<string, fc.Arbitrary<unknown>> = {
  timestamp: fc.oneof(recent, recent.map((t) => new Date(t).toISOString())),
};
// Delivery destinations (alerts, schedules): https: on loopback, where nothing listens (refused at once).
cleanNamed.url = fc.constantFrom('https://127.0.0.1:9/hook');
cleanNamed.originalTimestamp = cleanNamed.timestamp.map((t) => new Date(t as number | string).toISOString());
cleanNamed.sentAt = cleanNamed.originalTimestamp;
const namedValues: Record<string, fc.Arbitrary<unknown>> = {
  timestamp: fc.oneof(
    cleanNamed.timestamp,
    fc.constantFrom(now + 10 * 60_000, 0, -1, 8.64e15, 8.64e15 + 1, '2026-02-30T00:00:00Z', '1970-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', 'yesterday'),
  ),
  userId: fc.constantFrom('u1', 'u2', 'u3', 'alice', 'bob', '__proto__', 'constructor', 'ü', 'x'.repeat(128)),
  sessionId: fc.constantFrom('s1', 's2', 's3'),
  room: fc.constantFrom('standup', 'lobby', 'r:1@x.y', 'a', 'x'.repeat(128)),
  type: fc.constantFrom('page.view', 'message.sent', 'Order Completed', 'presence.join', 'presence.leave', 'presence.heartbeat', 'a', 'x'.repeat(64)),
  id: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'), minLength: 1, maxLength: 12 }),
  slug: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), minLength: 1, maxLength: 12 }).map((s) => `fz${s}`),
  timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kathmandu', 'America/St_Johns', 'Etc/GMT-14', 'Etc/GMT+12'),
  kind: fc.constantFrom('ingest', 'read', 'admin'),
  // Alert and schedule destinations (https: to loopback, or refused ones); a context url takes the same.
  url: fc.constantFrom('https://127.0.0.1:9/edgepulse', 'https://127.0.0.1:9/hook?x=1', 'http://localhost:9/x', 'http://127.0.0.1:9/plain', 'ftp://127.0.0.1/x', 'not a url', 'https://user:pw@127.0.0.1:9/', 'javascript:alert(1)'),
};

function resolveRef(ref: string, root: JsonSchema, doc: unknown): JsonSchema {
  const parts = ref.replace(/^#\//, '').split('/');
  // "#/$defs/…" belongs to the body schema itself; "#/components/…" to the document.
  let node: any = parts[0] === '$defs' ? root : doc;
  for (const p of parts) node = node?.[p];
  if (!node) throw new Error(`unresolved $ref ${ref}`);
  return node as JsonSchema;
}

function stringArb(s: JsonSchema, hostile: boolean): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, 80);
  const choices: Array<fc.Arbitrary<string>> = [];
  if (s.pattern) {
    try {
      choices.push(fc.stringMatching(new RegExp(s.pattern, 'u')).filter((x) => x.length <= 200));
    } catch {
      // a pattern fast-check cannot invert (look-behind): plain strings below still fit most of them
    }
  }
  if (hostile || !choices.length) choices.push(fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1) }));
  if (!hostile) return fc.oneof(...choices).filter((x) => x.length >= min && x.length <= (s.maxLength ?? Infinity));
  const bounds = [min, s.maxLength, s.maxLength !== undefined ? s.maxLength + 1 : undefined].filter((n): n is number => n !== undefined && n >= 0);
  return fc.oneof(
    { arbitrary: fc.oneof(...choices), weight: 6 },
    { arbitrary: fc.constantFrom(...bounds.map((n) => 'y'.repeat(n))), weight: 1 },
    { arbitrary: hostileString, weight: 2 },
  );
}

const EXTREMES = [0, -0, 5e-324, 1e-300, 1e10, 1e15, 2 ** 53 - 1, 1e21, 1e300, 1.7976931348623157e308, -1e15, -1.7976931348623157e308];

function numberArb(s: JsonSchema, integer: boolean, hostile: boolean): fc.Arbitrary<unknown> {
  const min = s.minimum ?? s.exclusiveMinimum ?? -Number.MAX_VALUE;
  const max = s.maximum ?? s.exclusiveMaximum ?? Number.MAX_VALUE;
  // Usual values stay moderate; the extremes come from EXTREMES.
  const lo = Math.max(min, -1e6);
  const hi = Math.min(max, 1e6);
  const inRange = integer
    ? fc.integer({ min: Math.max(Math.ceil(lo), Number.MIN_SAFE_INTEGER), max: Math.min(Math.floor(hi), Number.MAX_SAFE_INTEGER) })
    : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  // Clean cases still take the extremes the schema allows (a number with no maximum may be 1e308).
  const allowed = EXTREMES.filter((n) => n >= min && n <= max && (!integer || Number.isSafeInteger(n)));
  if (!hostile) return allowed.length ? fc.oneof({ arbitrary: inRange, weight: 6 }, { arbitrary: fc.constantFrom(...allowed), weight: 1 }) : inRange;
  const edges = [min, max, min - 1, max + 1, integer ? min + 0.5 : -min].filter((n) => Number.isFinite(n));
  return fc.oneof({ arbitrary: inRange, weight: 5 }, { arbitrary: fc.constantFrom(...edges), weight: 2 }, { arbitrary: extremeNumber, weight: 2 });
}

function objectArb(s: JsonSchema, root: JsonSchema, doc: unknown, depth: number, hostile: boolean): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(s.properties ?? {});
  const required = new Set(s.required ?? []);
  const fields = props.map(([name, sub]) => {
    const value = fieldArb(name, sub, root, doc, depth + 1, hostile);
    // Required fields are present 9 times in 10; optional ones about half the time.
    const presence = required.has(name) ? fc.nat(9).map((n) => n < 9 || !hostile) : fc.boolean();
    return fc.tuple(fc.constant(name), presence, value);
  });
  const extraValue = s.additionalProperties && typeof s.additionalProperties === 'object' ? schemaArb(s.additionalProperties, root, doc, hostile, depth + 1) : anyJson;
  const extraKeys = !hostile ? fc.string({ minLength: 1, maxLength: 20 }) : fc.oneof(
    { arbitrary: s.propertyNames ? stringArb(s.propertyNames, hostile) : hostileString, weight: 3 },
    { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'extra'), weight: 1 },
  );
  const extraCount = s.additionalProperties && typeof s.additionalProperties === 'object' ? 8 : 2;
  return fc
    .tuple(fc.tuple(...fields), fc.array(fc.tuple(extraKeys, extraValue), { maxLength: extraCount }), fc.nat(9))
    .map(([fs, extra, extraRoll]) => {
      const entries: Array<[string, unknown]> = fs.filter(([, present]) => present).map(([name, , value]) => [name, value]);
      // Extra fields in about one body in three (all of them when the schema allows any).
      if ((hostile && extraRoll < 3) || extraCount > 2) entries.push(...extra);
      // fromEntries defines `__proto__` as an own key, as JSON.parse on the server will.
      return Object.fromEntries(entries);
    });
}

function fieldArb(name: string, s: JsonSchema, root: JsonSchema, doc: unknown, depth: number, hostile: boolean): fc.Arbitrary<unknown> {
  // A field with its own enum (Segment's `type`) keeps it; others of a known name get realistic values.
  const named = s.enum ? undefined : hostile ? namedValues[name] : (cleanNamed[name] ?? namedValues[name]);
  const generic = schemaArb(s, root, doc, hostile, depth);
  if (named && !hostile) return named;
  return named ? fc.oneof({ arbitrary: named, weight: 2 }, { arbitrary: generic, weight: 1 }) : generic;
}

/**
 * A value shaped like the schema. Hostile: extreme and hostile values at every node, sometimes the
 * wrong type, missing required and extra fields. Clean: what the schema allows (so cases reach deep code).
 */
export function schemaArb(s: JsonSchema, root: JsonSchema, doc: unknown, hostile: boolean, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 6) return hostile ? anyJson : fc.constant(null);
  if (s.$ref) return schemaArb(resolveRef(s.$ref, root, doc), root, doc, hostile, depth);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => schemaArb(a, root, doc, hostile, depth + 1)));
  if (s.allOf) return schemaArb(Object.assign({}, ...s.allOf), root, doc, hostile, depth);
  let shaped: fc.Arbitrary<unknown>;
  if (s.enum) shaped = hostile ? fc.oneof({ arbitrary: fc.constantFrom(...s.enum), weight: 5 }, { arbitrary: hostileString, weight: 1 }) : fc.constantFrom(...s.enum);
  else if (s.const !== undefined) shaped = fc.constant(s.const);
  else {
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ['object'] : ['any'];
    shaped = fc.oneof(...types.map((t) => typeArb(t, s, root, doc, depth, hostile)));
  }
  if (!hostile) return shaped;
  return fc.oneof({ arbitrary: shaped, weight: 9 }, { arbitrary: wrongType, weight: 1 });
}

function typeArb(type: string, s: JsonSchema, root: JsonSchema, doc: unknown, depth: number, hostile: boolean): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string': return stringArb(s, hostile);
    case 'number': return numberArb(s, false, hostile);
    case 'integer': return numberArb(s, true, hostile);
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    case 'object': return objectArb(s, root, doc, depth, hostile);
    case 'array': {
      const items = s.items ? schemaArb(s.items, root, doc, hostile, depth + 1) : hostile ? anyJson : fc.constant(1);
      const max = s.maxItems ?? 10;
      const usual = fc.array(items, { minLength: Math.min(s.minItems ?? 0, 5), maxLength: Math.min(max, 5) });
      if (!hostile) return usual;
      // Now and then exactly at and one over the bound (e.g. 500 and 501 events).
      const atBound = fc.tuple(items, fc.constantFrom(max, max + 1)).map(([item, n]) => Array.from({ length: n }, () => item));
      return fc.oneof({ arbitrary: usual, weight: 30 }, { arbitrary: fc.constant([]), weight: 1 }, { arbitrary: atBound, weight: 1 });
    }
    default: return hostile ? anyJson : fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean());
  }
}
