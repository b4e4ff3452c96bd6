import { z } from '@hono/zod-openapi';
import { ApiError } from '../errors';
import { zodIssues } from '../ingest/parse';
import type { ErrorIssue } from '../shared/errors';

/**
 * Read routes refuse query parameters they do not know (API.md "Reports, continued": a misspelt
 * filter must not silently widen a report) and parameters given more than once.
 */

export const PROPERTY_PREFIX = 'property.';
export const UNKNOWN_PARAMETER = 'unknown query parameter';
const REPEATED_PARAMETER = 'given more than once; give it once';

/** Marks the issues strictQuery adds, and carries what the route takes into the error message. */
type UnknownParams = { unknownQueryParameter: true; allowed: string };

/**
 * A route's query object that answers every parameter outside its shape with an issue naming it
 * (`property.NAME` too, unless `properties`: the reports, the event log and export take those).
 * The check runs even when other parameters fail, so a misspelt name is reported first.
 */
export function strictQuery<T extends z.ZodRawShape>(schema: z.ZodObject<T>, opts: { properties?: boolean } = {}) {
  const known = new Set(Object.keys(schema.shape));
  const allowed = [...known, ...(opts.properties ? [`${PROPERTY_PREFIX}NAME`] : [])].join(', ');
  const params: UnknownParams = { unknownQueryParameter: true, allowed };
  return schema.loose().superRefine(
    (query, ctx) => {
      for (const name of Object.keys(query)) {
        if (known.has(name) || (opts.properties && name.startsWith(PROPERTY_PREFIX))) continue;
        ctx.addIssue({ code: 'custom', path: [name], message: UNKNOWN_PARAMETER, params });
      }
    },
    { when: () => true },
  );
}

const unknownParams = (i: z.core.$ZodIssue) => (i.code === 'custom' ? (i.params as UnknownParams | undefined) : undefined);
const isUnknown = (i: z.core.$ZodIssue) => unknownParams(i)?.unknownQueryParameter === true;

/**
 * The 400 for a query naming unknown parameters or repeating one (Hono hands a repeated parameter
 * over as an array; none of the read routes takes one): those issues first, in one message that
 * names each and what the route takes. Undefined for other validation failures.
 */
export function queryParamsError(result: { target: string; data?: unknown; error: z.ZodError }): ApiError | undefined {
  if (result.target !== 'query') return undefined;
  const unknownIssues = result.error.issues.filter(isUnknown);
  const unknown = unknownIssues.map((i) => String(i.path[0]));
  const raw = (result.data ?? {}) as Record<string, unknown>;
  const repeated = Object.keys(raw).filter((name) => Array.isArray(raw[name]) && !unknown.includes(name));
  if (!unknown.length && !repeated.length) return undefined;
  const named = new Set([...unknown, ...repeated]);
  const issues: ErrorIssue[] = [
    ...unknown.map((path) => ({ path, message: UNKNOWN_PARAMETER })),
    ...repeated.map((path) => ({ path, message: REPEATED_PARAMETER })),
    ...zodIssues(new z.ZodError(result.error.issues.filter((i) => !isUnknown(i) && !named.has(String(i.path[0]))))),
  ];
  const parts = [
    ...(unknown.length ? [`${unknown.join(', ')}: ${UNKNOWN_PARAMETER}${unknown.length > 1 ? 's' : ''} (this route takes ${unknownParams(unknownIssues[0])!.allowed})`] : []),
    ...(repeated.length ? [`${repeated.join(', ')}: ${REPEATED_PARAMETER}`] : []),
  ];
  return new ApiError('invalid_request', parts.join('; '), issues);
}
