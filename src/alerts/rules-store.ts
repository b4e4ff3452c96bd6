import { and, asc, count, eq } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { randomToken } from '../auth/secrets';
import { alertRules } from '../history/schema';
import type { Alert, AlertInput } from '../shared/alerts';

/** Alert rules in D1 (drizzle): their definitions, secrets and the state the hub writes back. */

export type AlertRuleRow = typeof alertRules.$inferSelect;

/** `whsec_` + base64 of 24 random bytes: a Standard Webhooks signing secret. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toAlert(row: AlertRuleRow): Alert {
  return {
    id: row.id,
    name: row.name,
    metric: row.metric as Alert['metric'],
    filter: row.filter ?? {},
    op: row.op,
    threshold: row.threshold,
    windowMinutes: row.windowMinutes,
    forMinutes: row.forMinutes,
    destination: { url: row.destinationUrl, format: row.destinationFormat },
    enabled: row.enabled,
    state: row.state,
    since: iso(row.since),
    value: row.value,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** The rule as an input again: PATCH merges into it and validates the whole. */
export function toInput(row: AlertRuleRow): AlertInput {
  const a = toAlert(row);
  return { name: a.name, metric: a.metric, filter: a.filter, op: a.op, threshold: a.threshold, windowMinutes: a.windowMinutes, forMinutes: a.forMinutes, destination: a.destination, enabled: a.enabled };
}

function columns(input: AlertInput) {
  return {
    name: input.name,
    metric: input.metric,
    filter: input.filter ?? {},
    op: input.op,
    threshold: input.threshold,
    windowMinutes: input.windowMinutes,
    forMinutes: input.forMinutes,
    destinationUrl: input.destination.url,
    destinationFormat: input.destination.format,
    enabled: input.enabled ?? true,
  };
}

export async function countRules(d: DrizzleD1Database, workspaceId: string): Promise<number> {
  const row = await d.select({ n: count() }).from(alertRules).where(eq(alertRules.workspaceId, workspaceId)).get();
  return row?.n ?? 0;
}

export async function insertRule(d: DrizzleD1Database, workspaceId: string, input: AlertInput, origin: string, now = Date.now()): Promise<AlertRuleRow> {
  const row: AlertRuleRow = {
    id: `alr_${randomToken(16)}`,
    workspaceId,
    ...columns(input),
    secret: newWebhookSecret(),
    state: 'ok',
    since: null,
    value: null,
    origin,
    createdAt: now,
    updatedAt: now,
  };
  await d.insert(alertRules).values(row);
  return row;
}

export function listRules(d: DrizzleD1Database, workspaceId: string): Promise<AlertRuleRow[]> {
  return d.select().from(alertRules).where(eq(alertRules.workspaceId, workspaceId)).orderBy(asc(alertRules.createdAt), asc(alertRules.id)).all();
}

export async function getRule(d: DrizzleD1Database, workspaceId: string, id: string): Promise<AlertRuleRow | null> {
  return (await d.select().from(alertRules).where(and(eq(alertRules.workspaceId, workspaceId), eq(alertRules.id, id))).get()) ?? null;
}

export async function updateRule(d: DrizzleD1Database, workspaceId: string, id: string, input: AlertInput, origin: string, now = Date.now()): Promise<AlertRuleRow | null> {
  const row = await d
    .update(alertRules)
    .set({ ...columns(input), origin, updatedAt: now })
    .where(and(eq(alertRules.workspaceId, workspaceId), eq(alertRules.id, id)))
    .returning()
    .get();
  return row ?? null;
}

export async function deleteRule(d: DrizzleD1Database, workspaceId: string, id: string): Promise<boolean> {
  const rows = await d.delete(alertRules).where(and(eq(alertRules.workspaceId, workspaceId), eq(alertRules.id, id))).returning({ id: alertRules.id }).all();
  return rows.length > 0;
}

/** The workspace is being deleted: its rules go with it (a statement for its batch). */
export function deleteWorkspaceRules(d: DrizzleD1Database, workspaceId: string) {
  return d.delete(alertRules).where(eq(alertRules.workspaceId, workspaceId));
}

/** The hub writes a transition back (the rule may have been deleted meanwhile: then nothing changes). */
export function saveRuleState(d: DrizzleD1Database, workspaceId: string, id: string, s: { state: 'ok' | 'firing'; since: number | null; value: number | null }) {
  return d.update(alertRules).set({ state: s.state, since: s.since, value: s.value }).where(and(eq(alertRules.workspaceId, workspaceId), eq(alertRules.id, id)));
}
