import type { Context } from 'hono';
import { ApiError } from '../errors';
import { LIMITS } from '../shared/limits';

const PROPERTY_PARAM = /^property\.(.{1,64})$/s;

/**
 * `property.NAME=value` query parameters (API.md: any number, ANDed; values compared as strings),
 * or undefined when there are none. Repeating one name, or too many, is a 400.
 */
export function propertyFilters(c: Context): Record<string, string> | undefined {
  const all = c.req.queries();
  const out: Record<string, string> = {};
  let n = 0;
  for (const [key, values] of Object.entries(all)) {
    const m = PROPERTY_PARAM.exec(key);
    if (!m) continue;
    const bad = (message: string) => new ApiError('invalid_request', `${key}: ${message}`, [{ path: key, message }]);
    if (values.length !== 1) throw bad('give each property filter once');
    if (values[0]!.length > LIMITS.propertyStringMaxLength) throw bad(`at most ${LIMITS.propertyStringMaxLength} characters`);
    if (++n > LIMITS.propertiesMaxKeys) throw bad(`at most ${LIMITS.propertiesMaxKeys} property filters`);
    Object.defineProperty(out, m[1]!, { value: values[0]!, enumerable: true, writable: true, configurable: true });
  }
  return n ? out : undefined;
}
