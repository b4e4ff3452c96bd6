import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

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
 * Raw events. No unique constraint: the hub de-duplicates ids and each drain is logged once
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
