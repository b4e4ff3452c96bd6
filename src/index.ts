import { app } from './app';
import { continueErasures } from './history/erasure';
import { applyRetention } from './history/retention';

export { WorkspaceHub } from './live/workspace-hub';
export { RoomHub } from './live/room-hub';

export default {
  fetch: app.fetch,
  /**
   * The cron: quiet browser viewers leave their rooms, then retention (raw events, minute rollups,
   * drain_log) in bounded chunks, then pending erasures. Awaited rather than left to waitUntil, so
   * that a failed run is a failed invocation (Cloudflare's cron log, and the status npm start's trigger sees).
   */
  async scheduled(controller, env, _ctx) {
    const result = await applyRetention(env.DB, controller.scheduledTime);
    const removed = result.events + result.minuteRollups + result.drainLog + result.viewersTimedOut;
    if (!result.complete) console.warn('retention ran out of time; the next run continues', result);
    else if (removed > 0) console.log('retention', result);
    // Erasures with a budget of their own: a long retention run does not starve them, nor they it.
    const erasures = await continueErasures(env);
    if (erasures.done || erasures.pending) console.log('erasures', erasures);
  },
} satisfies ExportedHandler<Env>;
