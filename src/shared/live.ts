import { z } from 'zod';
import { FiringAlert } from './alerts';

/** One event as the live streams show it (`events` messages, recentEvents, recentErrors). */
export const LiveEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    userId: z.string().nullable(),
    room: z.string().nullable(),
    timestamp: z.string().describe('ISO 8601 UTC'),
    error: z.string().optional(),
  })
  .meta({ id: 'LiveEvent' });
export type LiveEvent = z.infer<typeof LiveEvent>;

const Counts = z.record(z.string(), z.number());

export const Participant = z
  .object({
    userId: z.string(),
    name: z.string().optional(),
    platform: z.string().optional(),
    joinedAt: z.string(),
  })
  .meta({ id: 'Participant' });
export type Participant = z.infer<typeof Participant>;

export const Stats = z
  .object({
    timestamp: z.string(),
    onlineUsers: z.number().describe('users with an event in the last 5 minutes'),
    activeUsers: z.number().describe('users with an event in the last 30 minutes'),
    usersToday: z.number().describe('distinct users since midnight in the workspace’s time zone (a HyperLogLog estimate, within 2%)'),
    activeSessions: z.number().describe('sessions with an event in the last 30 minutes'),
    connections: z.number().describe('open live connections (WebSocket and SSE)'),
    eventsPerSecond: z.number().describe('mean over the last 10 seconds'),
    eventsLastMinute: z.number(),
    eventsLastHour: z.number(),
    eventsToday: z.number(),
    errorsLastHour: z.number(),
    errorRate: z.number().describe('errorsLastHour / eventsLastHour'),
    latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
      .describe('durationMs over the last 5 minutes (DDSketch, within 1% relative error); null without data'),
    bandwidth: z.object({ bytesInPerSecond: z.number(), bytesOutPerSecond: z.number() }).describe('mean over the last 5 minutes'),
    eventCounts: Counts.describe('events today by type'),
    rooms: z.array(z.object({ room: z.string(), current: z.number(), peak: z.number() })),
    distribution: z.object({ platform: Counts, device: Counts, browser: Counts, os: Counts, country: Counts })
      .describe('online users by their latest context'),
    recentEvents: z.array(LiveEvent).describe('newest first, up to 20'),
    recentErrors: z.array(LiveEvent).describe('newest first, up to 10'),
    topUsers: z.array(z.object({ userId: z.string(), events: z.number() })).describe('most events today, up to 10'),
    timeline: z.array(z.object({ t: z.string(), events: z.number(), users: z.number() })).describe('10-second buckets over the last 10 minutes, oldest first'),
    gauges: z.record(z.string(), z.object({ last: z.number(), avg1m: z.number(), max1m: z.number() })).optional()
      .describe('each gauge sent on events and heard within the last hour (at most 100 names, the longest quiet dropped first): the latest sample (by event time), and the mean and maximum of the samples of the last minute — a gauge is a level that holds until its next sample, so without a sample in the last minute both are its latest value'),
    firingAlerts: z.array(FiringAlert).optional().describe('alert rules of the workspace that are firing now'),
  })
  .meta({ id: 'Stats' });
export type Stats = z.infer<typeof Stats>;

export const RoomStats = Stats.extend({
  room: z.string(),
  current: z.number(),
  peak: z.number(),
  totalJoins: z.number(),
  avgSecondsInRoom: z.number().nullable().describe('mean stay of the participants who left'),
  participants: z.array(Participant),
}).meta({ id: 'RoomStats' });
export type RoomStats = z.infer<typeof RoomStats>;

export const LiveSnapshot = z
  .object({
    data: z.union([Stats, RoomStats]),
    meta: z.object({ workspace: z.string(), room: z.string().optional(), connections: z.number(), timestamp: z.string() }),
  })
  .meta({ id: 'LiveSnapshot' });
export type LiveSnapshot = z.infer<typeof LiveSnapshot>;

export const LiveConnected = z.object({ connectionId: z.string(), workspace: z.string(), room: z.string().optional(), timestamp: z.string() });

/** What a WebSocket carries as `{ type, data }` and SSE as `event: type` / `data: json`. */
export const LiveMessage = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('connected'), data: LiveConnected }),
    z.object({ type: z.literal('stats'), data: z.union([Stats, RoomStats]) }),
    z.object({ type: z.literal('events'), data: z.array(LiveEvent) }),
    z.object({ type: z.literal('ping'), data: z.object({ timestamp: z.string() }) }),
  ])
  .meta({ id: 'LiveMessage' });
export type LiveMessage = z.infer<typeof LiveMessage>;

export const LiveToken = z.object({ token: z.string(), expiresAt: z.string() }).meta({ id: 'LiveToken' });
export type LiveToken = z.infer<typeof LiveToken>;

export const LiveClosed = z.object({ closed: z.number() }).meta({ id: 'LiveClosed' });
