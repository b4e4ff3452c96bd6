import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const workspaces = sqliteTable('workspaces', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  timezone: text('timezone').notNull().default('UTC'),
  retentionDays: integer('retention_days').notNull().default(90),
  allowedOrigins: text('allowed_origins', { mode: 'json' }).$type<string[]>().notNull().default([]),
  livekitApiKey: text('livekit_api_key'),
  livekitApiSecret: text('livekit_api_secret'),
  webhookSecret: text('webhook_secret'),
  /** Ingestion limit in events per second (null: LIMITS.defaultEventsPerSecond); bursts of LIMITS.rateLimitBurstSeconds of it. */
  rateLimitEps: integer('rate_limit_eps'),
  /** Property names (≤ LIMITS.rollupPropertiesMax) rolled up like the built-in dimensions. */
  rollupProperties: text('rollup_properties', { mode: 'json' }).$type<string[]>().notNull().default([]),
  createdAt: integer('created_at').notNull(),
});

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    kind: text('kind', { enum: ['ingest', 'read', 'admin'] }).notNull(),
    prefix: text('prefix').notNull(),
    name: text('name'),
    /** SHA-256 of the secret, hex; the secret itself is never stored. */
    hash: text('hash').notNull().unique(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_keys_workspace').on(t.workspaceId)],
);

/**
 * Raw events of installations from before the R2 archive: read only by the one-time migration job,
 * which moves them to the archive and then drops this table. No unique constraint: the hub de-duplicates ids and each drain is logged once
 * (drain_log), so the only index is the one the newest-first read needs.
 */
export const events = sqliteTable(
  'events',
  {
    workspaceId: text('workspace_id').notNull(),
    ts: integer('ts').notNull(),
    id: text('id').notNull(),
    type: text('type').notNull(),
    receivedAt: integer('received_at').notNull(),
    userId: text('user_id'),
    sessionId: text('session_id'),
    room: text('room'),
    durationMs: real('duration_ms'),
    bytesIn: integer('bytes_in'),
    bytesOut: integer('bytes_out'),
    error: text('error'),
    value: real('value'),
    properties: text('properties'),
    context: text('context'),
  },
  (t) => [index('events_workspace_ts').on(t.workspaceId, t.ts)],
);

/** One row per drain (per outbox batch for batches from before drains had ids): a re-run of the same drain is a no-op. */
export const drainLog = sqliteTable('drain_log', {
  batchId: text('batch_id').primaryKey(),
  workspaceId: text('workspace_id').notNull(),
  drainedAt: integer('drained_at').notNull(),
});

/** Dashboard sessions ended by signing out: a copied cookie stops working (kept until the session would have expired). */
export const endedSessions = sqliteTable('ended_sessions', {
  /** The session JWT's `jti`. */
  id: text('id').primaryKey(),
  expiresAt: integer('expires_at').notNull(),
});

/** Erasure requests (DELETE …/users/{id}): a job the cron continues until every copy is gone. */
export const erasures = sqliteTable(
  'erasures',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    userId: text('user_id').notNull(),
    status: text('status', { enum: ['pending', 'done'] }).notNull(),
    eventsErased: integer('events_erased').notNull().default(0),
    /** Where the job stands (which archive objects are done), JSON; null before it starts. */
    progress: text('progress'),
    requestedAt: integer('requested_at').notNull(),
    doneAt: integer('done_at'),
  },
  (t) => [index('erasures_workspace_status').on(t.workspaceId, t.status)],
);

/** State of the cron's resumable jobs (the D1-to-archive migration, compaction), one JSON row per job. */
export const jobState = sqliteTable('job_state', {
  name: text('name').primaryKey(),
  state: text('state').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Alert rules (API.md "Alerts and scheduled reports"). The definition lives here; the workspace's hub
 * holds a copy with the live windows it evaluates, and writes each transition's `state`/`since` back.
 */
export const alertRules = sqliteTable(
  'alert_rules',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    name: text('name').notNull(),
    metric: text('metric').notNull(),
    /** `{ type?, room?, gauge? }`. */
    filter: text('filter', { mode: 'json' }).$type<{ type?: string; room?: string; gauge?: string }>().notNull().default({}),
    op: text('op', { enum: ['>', '<'] }).notNull(),
    threshold: real('threshold').notNull(),
    windowMinutes: integer('window_minutes').notNull(),
    forMinutes: integer('for_minutes').notNull(),
    destinationUrl: text('destination_url').notNull(),
    destinationFormat: text('destination_format', { enum: ['standard', 'slack'] }).notNull(),
    /** `whsec_…`: signs the deliveries (Standard Webhooks); shown once, when created. */
    secret: text('secret').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    state: text('state', { enum: ['ok', 'firing'] }).notNull().default('ok'),
    /** When the rule entered `state` (epoch ms). */
    since: integer('since'),
    /** The value of the transition that set `state`, if any. */
    value: real('value'),
    /** The dashboard's origin as the rule was last written (its deliveries link there; PUBLIC_URL overrides). */
    origin: text('origin'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('alert_rules_workspace').on(t.workspaceId)],
);

/** Scheduled reports: a summary of the previous day or week posted at a workspace-local hour. */
export const reportSchedules = sqliteTable(
  'report_schedules',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    name: text('name').notNull(),
    every: text('every', { enum: ['day', 'week'] }).notNull(),
    /** 0–23, the workspace's local time. */
    hour: integer('hour').notNull(),
    /** 0 (Sunday) – 6, for `every: week`. */
    weekday: integer('weekday'),
    destinationUrl: text('destination_url').notNull(),
    destinationFormat: text('destination_format', { enum: ['standard', 'slack'] }).notNull(),
    secret: text('secret').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    /** Start (epoch ms) of the last period whose report was sent by the schedule: each period once. */
    lastPeriodStart: integer('last_period_start'),
    lastSentAt: integer('last_sent_at'),
    /** The dashboard's origin as the schedule was created (its reports link there; PUBLIC_URL overrides). */
    origin: text('origin'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('report_schedules_workspace').on(t.workspaceId)],
);

/**
 * When each user was first seen, over the workspace's whole history (not only the raw retention):
 * `newUsers` and retention cohorts. Grows with users, not events; erasure deletes a user's row.
 */
export const userFirstSeen = sqliteTable(
  'user_first_seen',
  {
    workspaceId: text('workspace_id').notNull(),
    userId: text('user_id').notNull(),
    firstSeen: integer('first_seen').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index('user_first_seen_time').on(t.workspaceId, t.firstSeen)],
);

/**
 * Share links: a read-only view of a workspace's aggregates for whoever holds the URL. The token is
 * stored hashed (like keys); deleting the row ends the link and the live connections it opened.
 */
export const shares = sqliteTable(
  'shares',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    name: text('name'),
    /** SHA-256 of the `sh_…` token, hex; the token itself is never stored. */
    hash: text('hash').notNull().unique(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at'),
  },
  (t) => [index('shares_workspace').on(t.workspaceId)],
);
