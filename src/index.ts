import { app } from './app';
import { sendDueReports } from './alerts/send-reports';
import { runArchiveJobs } from './archive/archive-jobs';
import { runArchiveMigration } from './history/archive-migration';
import { continueErasures } from './history/erasure';
import { runFirstSeenBackfill } from './history/first-seen-backfill';
import { mergeOldDayRollups } from './history/month-rollups';
import { applyRetention } from './history/retention';

export { WorkspaceHub } from './live/workspace-hub';
export { RoomHub } from './live/room-hub';

/** Wall time per cron run for the archive migration (the cron fires every 5 minutes). */
const MIGRATION_BUDGET_MS = 20_000;
/** Wall time per cron run for the one-time backfill of user_first_seen from user_rollups. */
const FIRST_SEEN_BACKFILL_BUDGET_MS = 10_000;

export default {
  fetch: app.fetch,
  /**
   * The cron: quiet browser viewers leave their rooms, then retention (minute and old hour rollups,
   * per-user rollups, drain_log) in bounded chunks; beside it, day rollups older than ~13 months merged into month rows, the one-time move of D1 raw events to
   * the archive and the one-time backfill of first-seen users, each in its own budget; then pending erasures; then the archive's jobs (deleted
   * workspaces, partitions past retention, compaction), each with a budget of its own. Awaited rather
   * than left to waitUntil, so that a failed run is a failed invocation (Cloudflare's cron log, and
   * the status npm start's trigger sees); one job failing does not stop the others.
   */
  async scheduled(controller, env, _ctx) {
    const [retention, migration, firstSeen, months] = await Promise.allSettled([
      applyRetention(env.DB, controller.scheduledTime),
      runArchiveMigration(env.DB, env.ARCHIVE, { budgetMs: MIGRATION_BUDGET_MS }),
      runFirstSeenBackfill(env.DB, { budgetMs: FIRST_SEEN_BACKFILL_BUDGET_MS }),
      mergeOldDayRollups(env.DB, controller.scheduledTime),
    ]);
    if (months.status === 'fulfilled' && months.value.dayRows > 0) console.log('day rollups merged into months', months.value);
    if (retention.status === 'fulfilled') {
      const result = retention.value;
      const removed = result.minuteRollups + result.hourRollups + result.userRollups + result.drainLog + result.viewersTimedOut;
      if (!result.complete) console.warn('retention ran out of time; the next run continues', result);
      else if (removed > 0) console.log('retention', result);
    }
    if (firstSeen.status === 'fulfilled' && firstSeen.value.users > 0) console.log('first-seen backfill', firstSeen.value);
    if (migration.status === 'fulfilled') {
      const m = migration.value;
      if (m.dropped) console.log('archive migration done: the D1 events table is dropped', m);
      else if (!m.done) console.log('archive migration: the next run continues', m);
    }
    const [erasures] = await Promise.allSettled([continueErasures(env)]);
    if (erasures.status === 'fulfilled' && (erasures.value.done || erasures.value.pending)) console.log('erasures', erasures.value);
    const [reports] = await Promise.allSettled([sendDueReports(env, controller.scheduledTime)]);
    if (reports.status === 'fulfilled' && (reports.value.sent || reports.value.left)) console.log('scheduled reports', reports.value);
    const [archive] = await Promise.allSettled([runArchiveJobs(env.ARCHIVE, env.DB, controller.scheduledTime)]);
    if (archive.status === 'fulfilled') {
      if (!archive.value.complete) console.warn('archive jobs ran out of time; the next run continues', archive.value);
      else if (archive.value.objectsDeleted + archive.value.compaction.partsMerged > 0) console.log('archive jobs', archive.value);
    }
    const failed = [retention, migration, firstSeen, months, erasures, reports, archive].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw new AggregateError(failed.map((r) => r.reason), 'cron job failed');
  },
} satisfies ExportedHandler<Env>;
