import { app } from './app';
import { applyRetention } from './history/retention';

export { WorkspaceHub } from './live/workspace-hub';
export { RoomHub } from './live/room-hub';

export default {
  fetch: app.fetch,
  /** The cron: quiet browser viewers leave their rooms, then retention (raw events, minute rollups, drain_log) in bounded chunks. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(applyRetention(env.DB, controller.scheduledTime).then((r) => {
      if (!r.complete) console.warn('retention ran out of time; the next run continues', r);
    }));
  },
} satisfies ExportedHandler<Env>;
