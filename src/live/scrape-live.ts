import { LIMITS } from '../shared/limits';
import type { Stats } from '../shared/live';

/** What /metrics labels from the live stats, already bounded so a scrape stays small whatever the workspace holds. */
export interface ScrapeLive {
  /** Online users per platform (their latest context); those without one are not here. */
  platforms: Record<string, number>;
  /** The latest sample of each gauge heard within the last hour. */
  gauges: Record<string, number>;
  /** The busiest rooms, most participants first. */
  rooms: Array<{ room: string; participants: number }>;
  /** Rooms with someone in them now, listed or not (of the LIMITS.liveRoomsMax rooms presence holds). */
  roomsInUse: number;
}

export function scrapeLive(stats: Stats): ScrapeLive {
  const rooms = stats.rooms.slice().sort((a, b) => b.current - a.current || (a.room < b.room ? -1 : 1));
  return {
    platforms: stats.distribution.platform,
    gauges: Object.fromEntries(Object.entries(stats.gauges ?? {}).map(([name, g]) => [name, g.last])),
    rooms: rooms.slice(0, LIMITS.metricsRoomsMax).map((r) => ({ room: r.room, participants: r.current })),
    roomsInUse: rooms.filter((r) => r.current > 0).length,
  };
}
