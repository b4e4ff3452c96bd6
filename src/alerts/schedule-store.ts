import { and, count, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { DrizzleD1Database } from 'drizzle-orm/d1';
import { randomToken } from '../auth/secrets';
import { reportSchedules, workspaces } from '../history/schema';
import type { WorkspaceRow } from '../history/workspaces';
import type { Schedule, ScheduleInput } from '../shared/alerts';
import { DEFAULT_WEEKDAY } from './schedules';

export type ScheduleRow = typeof reportSchedules.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A `whsec_` secret: base64 of 24 random bytes (Standard Webhooks). */
export function newSigningSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
}

export function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    name: row.name,
    every: row.every,
    hour: row.hour,
    weekday: row.weekday,
    destination: { url: row.destinationUrl, format: row.destinationFormat },
    enabled: row.enabled,
    lastSentAt: iso(row.lastSentAt),
    createdAt: iso(row.createdAt)!,
  };
}

/** The row of a new schedule (weekday: Monday for a week without one, null for a day). */
export function newScheduleRow(workspaceId: string, input: ScheduleInput, origin: string, now: number): ScheduleRow {
  return {
    id: `sch_${randomToken(16)}`,
    workspaceId,
    name: input.name,
    every: input.every,
    hour: input.hour,
    weekday: input.every === 'week' ? (input.weekday ?? DEFAULT_WEEKDAY) : null,
    destinationUrl: input.destination.url,
    destinationFormat: input.destination.format,
    secret: newSigningSecret(),
    enabled: input.enabled ?? true,
    lastPeriodStart: null,
    lastSentAt: null,
    origin,
    createdAt: now,
  };
}

export async function countSchedules(d: DrizzleD1Database, workspaceId: string): Promise<number> {
  const row = await d.select({ n: count() }).from(reportSchedules).where(eq(reportSchedules.workspaceId, workspaceId)).get();
  return row?.n ?? 0;
}

export function listSchedules(d: DrizzleD1Database, workspaceId: string): Promise<ScheduleRow[]> {
  return d.select().from(reportSchedules).where(eq(reportSchedules.workspaceId, workspaceId)).orderBy(desc(reportSchedules.createdAt)).all();
}

export async function findSchedule(d: DrizzleD1Database, workspaceId: string, id: string): Promise<ScheduleRow | null> {
  return (await d.select().from(reportSchedules).where(and(eq(reportSchedules.workspaceId, workspaceId), eq(reportSchedules.id, id))).get()) ?? null;
}

/** Whether a schedule was deleted. */
export async function deleteSchedule(d: DrizzleD1Database, workspaceId: string, id: string): Promise<boolean> {
  const res = await d.delete(reportSchedules).where(and(eq(reportSchedules.workspaceId, workspaceId), eq(reportSchedules.id, id))).run();
  return res.meta.changes > 0;
}

/** Every enabled schedule with its workspace (the cron's list). */
export function enabledSchedules(d: DrizzleD1Database): Promise<Array<{ schedule: ScheduleRow; workspace: WorkspaceRow }>> {
  return d
    .select({ schedule: reportSchedules, workspace: workspaces })
    .from(reportSchedules)
    .innerJoin(workspaces, eq(workspaces.id, reportSchedules.workspaceId))
    .where(eq(reportSchedules.enabled, true))
    .all();
}

/**
 * Takes the period starting at `periodStart` for this run: true for exactly one caller however many
 * crons race (a conditional UPDATE), false once any has taken it or a later one.
 */
export async function claimPeriod(d: DrizzleD1Database, id: string, periodStart: number, now: number): Promise<boolean> {
  const res = await d
    .update(reportSchedules)
    .set({ lastPeriodStart: periodStart, lastSentAt: now })
    .where(and(eq(reportSchedules.id, id), eq(reportSchedules.enabled, true), or(isNull(reportSchedules.lastPeriodStart), lt(reportSchedules.lastPeriodStart, periodStart))))
    .run();
  return res.meta.changes > 0;
}

/** Gives a claimed period back (its report could not be queued), so the next cron tries it again. */
export async function releasePeriod(d: DrizzleD1Database, claimed: ScheduleRow, periodStart: number): Promise<void> {
  await d
    .update(reportSchedules)
    .set({ lastPeriodStart: claimed.lastPeriodStart, lastSentAt: claimed.lastSentAt })
    .where(and(eq(reportSchedules.id, claimed.id), eq(reportSchedules.lastPeriodStart, periodStart)))
    .run();
}

/** A report sent by hand ("send now"): shown as the last sent, without taking the period from the cron. */
export async function markSent(d: DrizzleD1Database, id: string, now: number): Promise<void> {
  await d.update(reportSchedules).set({ lastSentAt: now }).where(eq(reportSchedules.id, id)).run();
}
