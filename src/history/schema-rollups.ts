import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Pre-aggregated history, written by the drain in the same D1 batch as the raw events.
 * One row per (grain, bucket start, event type, dimension, dimension value); `dim = ''` is the
 * type's total, and `type = '', dim = ''` the total of all types. Minute buckets are UTC minutes; hour, day and month buckets are the workspace's local ones
 * (month rows: day rows older than about 13 months, merged by the cron, month-rollups.ts).
 */
export const rollups = sqliteTable(
  'rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    grain: text('grain', { enum: ['minute', 'hour', 'day', 'month'] }).notNull(),
    bucket: integer('bucket').notNull(),
    type: text('type').notNull(),
    dim: text('dim').notNull(),
    key: text('key').notNull(),
    events: integer('events').notNull(),
    errors: integer('errors').notNull(),
    bytesIn: integer('bytes_in').notNull(),
    bytesOut: integer('bytes_out').notNull(),
    value: real('value').notNull(),
    durationCount: integer('duration_count').notNull(),
    durationSum: real('duration_sum').notNull(),
    /** HyperLogLog of user ids (sketches.ts encoding). */
    users: text('users'),
    /** HyperLogLog of session ids. */
    sessions: text('sessions'),
    /** DDSketch of durationMs (sketches.ts encoding). */
    durations: text('durations'),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.grain, t.bucket, t.type, t.dim, t.key] })],
);

/**
 * Per-user daily rollups (the workspace's local days): serve /users, /users/{id} and userId filters
 * without raw events. Erasure deletes a user's rows.
 */
export const userRollups = sqliteTable(
  'user_rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    userId: text('user_id').notNull(),
    day: integer('day').notNull(),
    events: integer('events').notNull(),
    errors: integer('errors').notNull(),
    bytesIn: integer('bytes_in').notNull(),
    bytesOut: integer('bytes_out').notNull(),
    value: real('value').notNull(),
    durationCount: integer('duration_count').notNull(),
    durationSum: real('duration_sum').notNull(),
    /** DDSketch of durationMs (sketches.ts encoding). */
    durations: text('durations'),
    /** HyperLogLog of session ids. */
    sessions: text('sessions'),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId, t.day] }), index('user_rollups_day').on(t.workspaceId, t.day)],
);

/** Participant sessions from presence.join / presence.leave (room + userId). */
export const participantSessions = sqliteTable(
  'participant_sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    workspaceId: text('workspace_id').notNull(),
    room: text('room').notNull(),
    userId: text('user_id').notNull(),
    joinedAt: integer('joined_at').notNull(),
    leftAt: integer('left_at'),
    platform: text('platform'),
    connectionType: text('connection_type'),
    /** Last presence.heartbeat (browser viewers): the cron ends the session when it is older than the timeout. */
    lastHeardAt: integer('last_heard_at'),
  },
  (t) => [index('participant_sessions_key').on(t.workspaceId, t.room, t.userId, t.leftAt), index('participant_sessions_joined').on(t.workspaceId, t.joinedAt)],
);

/** Room sessions: from room.started / room.finished, or from the first join to the last leave. */
export const roomSessions = sqliteTable(
  'room_sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    workspaceId: text('workspace_id').notNull(),
    room: text('room').notNull(),
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at'),
    maxParticipants: integer('max_participants').notNull().default(0),
    /** 1 when opened by room.started: then only room.finished ends it, not the last leave. */
    explicit: integer('explicit').notNull().default(0),
  },
  (t) => [index('room_sessions_key').on(t.workspaceId, t.room, t.endedAt), index('room_sessions_started').on(t.workspaceId, t.startedAt)],
);

/**
 * Gauges (sampled levels sent on events, `gauges: { cpu: 0.7 }`) per bucket and name, like `rollups`'
 * grains: min, max, sum and count of the samples, and the latest sample with its time.
 */
export const gaugeRollups = sqliteTable(
  'gauge_rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    grain: text('grain', { enum: ['minute', 'hour', 'day'] }).notNull(),
    bucket: integer('bucket').notNull(),
    name: text('name').notNull(),
    min: real('min').notNull(),
    max: real('max').notNull(),
    sum: real('sum').notNull(),
    samples: integer('samples').notNull(),
    last: real('last').notNull(),
    lastTs: integer('last_ts').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.grain, t.bucket, t.name] })],
);

/**
 * Concurrency from presence, recorded by the hubs per minute: the most users present at once and the
 * participant time inside the bucket, for the workspace (`room = ''`) and each room.
 */
export const concurrencyRollups = sqliteTable(
  'concurrency_rollups',
  {
    workspaceId: text('workspace_id').notNull(),
    grain: text('grain', { enum: ['minute', 'hour', 'day'] }).notNull(),
    bucket: integer('bucket').notNull(),
    room: text('room').notNull(),
    maxUsers: integer('max_users').notNull(),
    participantMs: integer('participant_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.grain, t.bucket, t.room] })],
);
