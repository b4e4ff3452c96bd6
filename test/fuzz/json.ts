/**
 * JSON text the fuzzer sends. JSON.stringify cannot write `-0`, `1e400` (parses to Infinity),
 * duplicate keys or a lone surrogate escape on its own, so those travel as raw tokens.
 */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON() {
    return `«raw ${this.text}»`;
  }
}

/** Serializes a generated value; RawJson tokens go out verbatim. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value);
}
