import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { toRef, type WorkspaceRow } from '../history/workspaces';
import { normalizeEvents } from '../ingest/normalize';
import type { ParseOutcome, RequestFacts } from '../ingest/types';
import { workspaceHub } from '../live/hubs';
import { isRateLimited, type RateLimited } from '../live/rate-limit';
import { LIMITS } from '../shared/limits';
import type { IngestResult, ParsedEventInput } from '../shared/events';

export function unwrap<T>(outcome: ParseOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(outcome.code, outcome.message, outcome.issues);
}

/** What the request itself says of its sender; `fromSender: false` when a server relays for others (webhooks). */
export function requestFacts(c: Context<AppEnv>, fromSender = true): RequestFacts {
  if (!fromSender) return { now: Date.now() };
  return { now: Date.now(), country: (c.req.raw.cf?.country as string | undefined) ?? undefined, userAgent: c.req.header('user-agent') };
}

/** `https://shop.example` matches itself; `https://*.shop.example` matches its subdomains. */
export function originAllowed(origin: string, allowed: string[]): boolean {
  return allowed.some((pattern) => {
    if (pattern === origin || pattern === '*') return true;
    const star = pattern.indexOf('://*.');
    if (star < 0) return false;
    const scheme = pattern.slice(0, star + 3);
    const suffix = pattern.slice(star + 4); // ".shop.example"
    return origin.startsWith(scheme) && origin.endsWith(suffix) && origin.length > scheme.length + suffix.length;
  });
}

/** Browsers name the page's origin; once a workspace lists allowed origins, others are refused. */
function checkOrigin(c: Context<AppEnv>, workspace: WorkspaceRow): void {
  const origin = c.req.header('origin');
  if (!origin || !workspace.allowedOrigins.length || originAllowed(origin, workspace.allowedOrigins)) return;
  throw new ApiError('forbidden', `origin ${origin} is not in this workspace's allowedOrigins (PATCH /api/v1/workspaces/${workspace.slug} to add it)`);
}

/** Validated inputs → normalize → enrich → ONE hub call for the whole request. */
export async function ingestParsed(
  c: Context<AppEnv>,
  workspace: WorkspaceRow,
  events: ParsedEventInput[],
  isBatch: boolean,
  facts: RequestFacts = requestFacts(c),
): Promise<IngestResult> {
  checkOrigin(c, workspace);
  const normalized = unwrap(normalizeEvents(events, facts, isBatch));
  const result = await workspaceHub(c.env, workspace.id).ingest(toRef(workspace), normalized);
  if (isRateLimited(result)) throw rateLimitError(workspace.slug, normalized.length, result);
  return result;
}

/** 429 with `Retry-After`: the hub refused the whole request, nothing of it is stored. */
function rateLimitError(slug: string, events: number, { rateLimited: { retryAfterSeconds, eventsPerSecond } }: RateLimited): ApiError {
  return new ApiError(
    'rate_limited',
    `workspace ${slug} takes at most ${eventsPerSecond} events a second (bursts of ${LIMITS.rateLimitBurstSeconds} s); nothing of this request (${events} events) was stored: send it again in ${retryAfterSeconds} s`,
    undefined,
    { 'retry-after': String(retryAfterSeconds) },
  );
}
