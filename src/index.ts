import { app } from './app';
import { runArchiveJobs } from './archive/archive-jobs';
import { applyRetention } from './history/retention';

export { WorkspaceHub } from './live/workspace-hub';
export { RoomHub } from './live/room-hub';

export default {
  fetch: app.fetch,
  /**
   * The cron: quiet browser viewers leave their rooms, then retention (raw events, minute and old hour
   * rollups, drain_log) in bounded chunks, then the archive's jobs (deleted workspaces, partitions past
   * retention, compaction) with a budget of their own. Awaited rather than left to waitUntil, so that a failed run is a
   * failed invocation (Cloudflare's cron log, and the status npm start's trigger sees).
   */
  async scheduled(controller, env, _ctx) {
    const result = await applyRetention(env.DB, controller.scheduledTime);
    const removed = result.events + result.minuteRollups + result.hourRollups + result.userRollups + result.drainLog + result.viewersTimedOut;
    if (!result.complete) console.warn('retention ran out of time; the next run continues', result);
    else if (removed > 0) console.log('retention', result);
    const archive = await runArchiveJobs(env.ARCHIVE, env.DB, controller.scheduledTime);
    if (!archive.complete) console.warn('archive jobs ran out of time; the next run continues', archive);
    else if (archive.objectsDeleted + archive.compaction.partsMerged > 0) console.log('archive jobs', archive);
  },
} satisfies ExportedHandler<Env>;
