import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { toRef, type WorkspaceRow } from '../history/workspaces';
import { normalizeEvents } from '../ingest/normalize';
import type { ParseOutcome, RequestFacts } from '../ingest/types';
import { workspaceHub } from '../live/hubs';
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

/** Validated inputs → normalize → enrich → ONE hub call for the whole request. */
export async function ingestParsed(
  c: Context<AppEnv>,
  workspace: WorkspaceRow,
  events: ParsedEventInput[],
  isBatch: boolean,
  facts: RequestFacts = requestFacts(c),
): Promise<IngestResult> {
  const normalized = unwrap(normalizeEvents(events, facts, isBatch));
  return workspaceHub(c.env, workspace.id).ingest(toRef(workspace), normalized);
}
