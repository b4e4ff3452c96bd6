import { z } from 'zod';
import { GRANULARITIES } from './report-params';

/** Report answers of "History and reports" (API.md); the dashboard imports these. */

export const DurationStats = z
  .object({ avg: z.number().nullable(), p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
  .meta({ id: 'DurationStats', description: 'durationMs: exact average; p50/p95/p99 from a DDSketch, within 1% relative error' });
export type DurationStats = z.infer<typeof DurationStats>;

const SummaryFields = z
  .object({
    events: z.number().int(),
    users: z.number().int().meta({ description: 'Unique users (HyperLogLog estimate, within 2%)' }),
    sessions: z.number().int().meta({ description: 'Unique sessionId values (HyperLogLog estimate, within 2%)' }),
    errors: z.number().int(),
    errorRate: z.number(),
    durationMs: DurationStats,
    bytesIn: z.number(),
    bytesOut: z.number(),
    value: z.number(),
    avgSessionSeconds: z.number().nullable().meta({ description: 'Mean length of the participant sessions (presence) that started in the range and have ended' }),
  });

/** With `compare=previous`: the range of equal length that ends where this one starts. */
export const PreviousRange = z
  .object({ from: z.string(), to: z.string() })
  .meta({ id: 'PreviousRange', description: 'With compare=previous: the range of equal length just before [from, to)' });

export const Summary = SummaryFields.extend({
  previous: SummaryFields.optional().meta({ description: 'With compare=previous: the same totals over the range of equal length just before' }),
  previousRange: PreviousRange.optional(),
}).meta({ id: 'Summary' });
export type Summary = z.infer<typeof Summary>;

export const METRICS = [
  'events', 'users', 'sessions', 'errors', 'errorRate', 'bytesIn', 'bytesOut', 'value', 'durationAvg', 'durationP50', 'durationP95', 'durationP99',
  'newUsers', 'concurrentUsers', 'participantMinutes',
] as const;
export type Metric = (typeof METRICS)[number];

export { GRANULARITIES } from './report-params';

export const TimeseriesPoint = z
  .object({ t: z.string() })
  .catchall(z.union([z.number(), z.string(), z.null()]))
  .meta({ id: 'TimeseriesPoint', description: 'Bucket start (ISO, UTC) and one field per requested metric; empty buckets are 0 (percentiles null)' });

export const Timeseries = z
  .object({
    granularity: z.enum(GRANULARITIES),
    points: z.array(TimeseriesPoint),
    previous: z
      .object({ points: z.array(TimeseriesPoint) })
      .optional()
      .meta({ description: 'With compare=previous: the points of the range of equal length just before, aligned by offset (previous.points[i] is points[i] one range earlier; its `t` is its own bucket start)' }),
    previousRange: PreviousRange.optional(),
  })
  .meta({ id: 'Timeseries' });
export type Timeseries = z.infer<typeof Timeseries>;

export const BreakdownRow = z
  .object({
    key: z.string(),
    events: z.number().int(),
    users: z.number().int(),
    errors: z.number().int(),
    errorRate: z.number(),
    bytesIn: z.number(),
    bytesOut: z.number(),
    value: z.number(),
    durationMs: DurationStats,
  })
  .meta({ id: 'BreakdownRow' });

export const Breakdown = z.object({ by: z.string(), rows: z.array(BreakdownRow) }).meta({ id: 'Breakdown' });
export type Breakdown = z.infer<typeof Breakdown>;

export const UserReport = z
  .object({
    userId: z.string(),
    firstSeen: z.string(),
    lastSeen: z.string(),
    events: z.number().int(),
    sessions: z.number().int(),
    errors: z.number().int(),
    bytesIn: z.number(),
    bytesOut: z.number(),
    durationMs: DurationStats,
  })
  .meta({ id: 'UserReport' });
export type UserReport = z.infer<typeof UserReport>;

export const UserList = z.object({ users: z.array(UserReport) }).meta({ id: 'UserList' });
export const UserDetail = z.object({ user: UserReport }).meta({ id: 'UserDetail' });

export const ParticipantSession = z
  .object({
    userId: z.string(),
    room: z.string(),
    joinedAt: z.string(),
    leftAt: z.string().nullable(),
    durationSeconds: z.number(),
    platform: z.string().nullable(),
    connectionType: z.string().nullable(),
  })
  .meta({ id: 'ParticipantSession' });
export const SessionList = z.object({ sessions: z.array(ParticipantSession) }).meta({ id: 'SessionList' });

export const RoomSession = z
  .object({
    room: z.string(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    maxParticipants: z.number().int(),
    participants: z.number().int().meta({ description: 'Distinct users who joined during the room session' }),
  })
  .meta({ id: 'RoomSession' });
export const RoomList = z.object({ rooms: z.array(RoomSession) }).meta({ id: 'RoomList' });
