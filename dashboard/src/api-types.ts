// Wire types the dashboard reads. Settings and events come from src/shared; the live and report
// shapes below follow API.md until src/shared/live.ts and src/shared/reports.ts land.
export type { EventPage, StoredEvent } from '../../src/shared/events';
export type { ApiKey, KeyKind, Workspace } from '../../src/shared/workspaces';
export type { Session, SessionBody } from '../../src/shared/session';
export type { ErrorBody } from '../../src/shared/errors';

export interface Percentiles {
  avg?: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface Summary {
  events: number;
  users: number;
  sessions: number;
  errors: number;
  errorRate: number;
  durationMs: Percentiles;
  bytesIn: number;
  bytesOut: number;
  value: number;
  avgSessionSeconds: number | null;
}

export type Granularity = 'minute' | 'hour' | 'day' | 'week' | 'month';

export interface TimeseriesPoint {
  t: string;
  events: number;
  users?: number;
  errors?: number;
  [metric: string]: number | string | null | undefined;
}

export interface Timeseries {
  granularity: Granularity;
  points: TimeseriesPoint[];
}

export interface BreakdownRow {
  key: string | null;
  events: number;
  users?: number;
  errors?: number;
  [metric: string]: number | string | null | undefined;
}

export interface Breakdown {
  by: string;
  rows: BreakdownRow[];
}

export interface UserRecord {
  userId: string;
  firstSeen: string;
  lastSeen: string;
  events: number;
  sessions: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  durationMs?: Percentiles | null;
}

export interface ParticipantSession {
  userId: string;
  room: string;
  joinedAt: string;
  leftAt: string | null;
  durationSeconds: number | null;
  platform?: string | null;
  connectionType?: string | null;
}

export interface RoomSession {
  room: string;
  startedAt: string;
  endedAt: string | null;
  maxParticipants: number;
  participants: number;
}

export interface LiveEvent {
  id: string;
  type: string;
  userId: string | null;
  room: string | null;
  timestamp: string;
  error?: string;
}

export interface Participant {
  userId: string;
  name?: string;
  platform?: string;
  joinedAt: string;
}

type Counts = Record<string, number>;

export interface Stats {
  timestamp: string;
  onlineUsers: number;
  activeUsers: number;
  usersToday: number;
  activeSessions: number;
  connections: number;
  eventsPerSecond: number;
  eventsLastMinute: number;
  eventsLastHour: number;
  eventsToday: number;
  errorsLastHour: number;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  bandwidth: { bytesInPerSecond: number; bytesOutPerSecond: number };
  eventCounts: Counts;
  rooms: Array<{ room: string; current: number; peak: number }>;
  distribution: { platform: Counts; device: Counts; browser: Counts; os: Counts; country: Counts };
  recentEvents: LiveEvent[];
  recentErrors: LiveEvent[];
  topUsers: Array<{ userId: string; events: number }>;
  timeline: Array<{ t: string; events: number; users: number }>;
}

export interface RoomStats extends Stats {
  room: string;
  current: number;
  peak: number;
  totalJoins: number;
  avgSecondsInRoom: number | null;
  participants: Participant[];
}

export interface LiveSnapshot {
  data: Stats | RoomStats;
  meta: { workspace: string; room?: string; connections: number; timestamp: string };
}

export type LiveMessage =
  | { type: 'connected'; data: { connectionId: string; workspace: string; room?: string; timestamp: string } }
  | { type: 'stats'; data: Stats | RoomStats }
  | { type: 'events'; data: LiveEvent[] }
  | { type: 'ping'; data: { timestamp: string } };
