import { randomToken } from '../auth/secrets';
import { rawSource } from '../history/raw/source';
import { db, toRef, type WorkspaceRow } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import type { DeliveryJob } from './delivery-job';
import { dashboardOrigin } from './destination';
import { reportData } from './report-payload';
import { claimPeriod, enabledSchedules, markSent, releasePeriod, type ScheduleRow } from './schedule-store';
import { duePeriod, latestPeriod } from './schedules';

/** The cron's time for scheduled reports (the rest of its run goes to the other jobs). */
const REPORTS_BUDGET_MS = 20_000;

/** The webhook-id of a period's scheduled report: the same for every cron run that gets there. */
export const scheduledReportId = (scheduleId: string, periodStart: number) => `msg_${scheduleId}_${periodStart}`;

/** Computes a period's report and queues it on the workspace's hub under `id`. */
export async function queueReport(env: Env, ws: WorkspaceRow, schedule: ScheduleRow, period: { from: number; to: number }, id: string, now: number): Promise<void> {
  const hub = workspaceHub(env, ws.id);
  const ref = toRef(ws);
  // Events acknowledged just before the period ended reach history first (the drain runs within seconds anyway).
  await hub.flush();
  const data = await reportData(env.DB, rawSource(env, ws.id), ws, { ...period, every: schedule.every }, dashboardOrigin(env.PUBLIC_URL, schedule.origin), now);
  const job: DeliveryJob = {
    id,
    ownerId: schedule.id,
    type: 'report.scheduled',
    destination: { url: schedule.destinationUrl, format: schedule.destinationFormat },
    secret: schedule.secret,
    payload: { type: 'report.scheduled', timestamp: new Date(now).toISOString(), data },
  };
  await hub.enqueueDeliveries(ref, [job]);
}

/** "Send now": the report of the last complete period, under an id of its own (the cron still sends that period). */
export async function sendReportNow(env: Env, ws: WorkspaceRow, schedule: ScheduleRow, now: number = Date.now()): Promise<string> {
  const period = latestPeriod(schedule, ws.timezone, now, 0);
  const id = `msg_${schedule.id}_now_${randomToken(12)}`;
  await queueReport(env, ws, schedule, period, id, now);
  await markSent(db(env.DB), schedule.id, now);
  return id;
}

export interface ScheduledReportsRun {
  sent: number;
  /** Schedules whose report could not be queued (tried again by the next cron). */
  failed: number;
  /** Due schedules left for the next cron (out of time). */
  left: number;
}

/**
 * The cron's part: each enabled schedule whose period is due at `now` (the cron's scheduledTime) is
 * claimed by a conditional UPDATE, so a cron that runs twice or late sends the period once, then
 * queued on its workspace's hub under an id derived from the period (idempotent there too).
 */
export async function sendDueReports(env: Env, now: number, budgetMs: number = REPORTS_BUDGET_MS): Promise<ScheduledReportsRun> {
  const started = Date.now();
  const d = db(env.DB);
  const run: ScheduledReportsRun = { sent: 0, failed: 0, left: 0 };
  const errors: unknown[] = [];
  for (const { schedule, workspace } of await enabledSchedules(d)) {
    const period = duePeriod(schedule, workspace.timezone, now);
    if (!period) continue;
    if (Date.now() - started > budgetMs) {
      run.left++;
      continue;
    }
    if (!(await claimPeriod(d, schedule.id, period.from, now))) continue;
    try {
      await queueReport(env, workspace, schedule, period, scheduledReportId(schedule.id, period.from), now);
      run.sent++;
    } catch (err) {
      run.failed++;
      errors.push(err);
      await releasePeriod(d, schedule, period.from).catch((e) => errors.push(e));
    }
  }
  if (errors.length) throw new AggregateError(errors, `scheduled reports: ${run.failed} could not be queued`);
  return run;
}
