/** Every limit of the wire contract, named once (API.md). */
export const LIMITS = {
  batchMaxEvents: 500,
  bodyMaxBytes: 1024 * 1024,
  /** An oversized chunked body is read to its end (and dropped) up to this size, so the connection stays usable; past it, cancelled. */
  bodyDrainMaxBytes: 16 * 1024 * 1024,
  eventMaxBytes: 32 * 1024,
  segmentMessageMaxBytes: 32 * 1024,
  segmentBatchMaxBytes: 500 * 1024,
  /** Standard Webhooks: how far webhook-timestamp may be from now. */
  webhookToleranceMs: 5 * 60 * 1000,
  /** The browser tracker served at /t.js, gzipped. */
  trackerMaxGzipBytes: 1024,
  futureSkewMs: 5 * 60 * 1000,
  idMaxLength: 64,
  typeMaxLength: 64,
  userIdMaxLength: 128,
  sessionIdMaxLength: 128,
  errorMaxLength: 128,
  roomMaxLength: 128,
  propertiesMaxKeys: 50,
  propertyStringMaxLength: 1000,
  contextStringMaxLength: 2048,
  /** Event numbers (API.md): durationMs in [0, 1e10] (115 days); bytes integers up to 2^53−1; |value| and |gauge| up to 1e15. */
  durationMsMax: 1e10,
  bytesMax: Number.MAX_SAFE_INTEGER,
  valueAbsMax: 1e15,
  gaugesMaxKeys: 20,
  gaugeAbsMax: 1e15,
  gaugeNameMaxLength: 64,
  dedupeDays: 7,
  keyCacheMs: 60_000,
  liveTokenTtlMs: 5 * 60 * 1000,
  /** Live state: users, sessions, rooms and event types held in memory by a hub (oldest evicted). */
  liveUsersMax: 50_000,
  liveSessionsMax: 50_000,
  liveRoomsMax: 1_000,
  liveParticipantsMax: 10_000,
  liveEventTypesMax: 500,
  /** A hub's live-state snapshot: at most this big (oldest users, sessions, rooms cut first)… */
  liveSnapshotMaxBytes: 1_000_000,
  /** …and saved at most once this often from traffic (plus once before a drain releases outbox rows it does not cover). */
  liveSnapshotEveryMs: 5_000,
  /** Participants listed in a room's stats. */
  liveParticipantsListed: 500,
  /** Events held for the next `events` message; older ones beyond this are dropped from the stream. */
  liveEventsPerMessage: 100,
  liveConnectionsMax: 30_000,
  /** A viewer that heartbeats and is unheard of this long has left its room. */
  presenceTimeoutMs: 90_000,
  sessionTtlMs: 7 * 24 * 60 * 60 * 1000,
  /** How long a session trusts that its key is not revoked. */
  sessionKeyCacheMs: 5_000,
  eventsPageMax: 1000,
  eventsPageDefault: 100,
  retentionDaysMax: 3650,
  /** Reports: points of one timeseries, rows of a breakdown or user list, sessions listed. */
  timeseriesMaxPoints: 1500,
  breakdownMaxRows: 1000,
  breakdownDefaultRows: 10,
  reportListMax: 1000,
  reportListDefault: 100,
  /** Minute rollups are kept this long (day rollups ~13 months, then month rows as long as the workspace exists). */
  minuteRollupHours: 48,
  /** Hour rollups are kept this long; day rollups answer older ranges. */
  hourRollupDays: 35,
  /** Day rollups are kept about 13 months (this many days, to the start of that local month); the cron then merges them into month rows. */
  dayRollupDays: 400,
  /** Wall time per cron run for merging old day rollups into month rows. */
  monthRollupBudgetMs: 10_000,
  /** Property names a workspace may keep in rollups (PATCH rollupProperties). */
  rollupPropertiesMax: 10,
  /** Archive compaction merges an hour this long after it closed (late drains land first). */
  archiveCompactionMarginMs: 10 * 60 * 1000,
  /**
   * Parts a compacted file covers are deleted by the first cron run this long after it was stored (our
   * readers that listed before it finish first); a file-glob reader (DuckDB) sees that hour twice until then.
   */
  archivePartGraceMs: 60 * 1000,
  /** Rows of small parts merged into an hour's compacted file per merge (held decoded in memory); the rest next time. */
  archiveMergeRowsMax: 50_000,
  /** A compacted file is rewritten in memory: past this size an hour keeps its further parts beside it. */
  archiveCompactedMaxBytes: 48 * 1024 * 1024,
  /** A property name in rollupProperties, `by=property:NAME` or `property.NAME=`. */
  propertyNameMaxLength: 64,
  /** A rollup property's value is kept in rollups up to this many characters (longer ones: cut, ending in …). */
  rollupPropertyValueMaxLength: 200,
  /** `property.NAME=value` filters one query may carry. */
  propertyFiltersMax: 10,
  /** The archive migration moves D1 raw rows in chunks of at most this many rows and this many bytes of row text (a Worker has 128 MB). */
  migrationChunkRows: 10_000,
  migrationChunkBytes: 8 * 1024 * 1024,
  /** Rows an export reads per D1 query. */
  exportPageRows: 1000,
  defaultRetentionDays: 90,
  /** Ingestion rate limit per workspace (events a second) unless its rateLimit setting says otherwise. */
  defaultEventsPerSecond: 1000,
  /** The highest rate limit a workspace may set (events a second). */
  eventsPerSecondMax: 1_000_000,
  /** The rate limit allows bursts of this many seconds' worth of events. */
  rateLimitBurstSeconds: 10,
  /** Dead letters listed by GET …/dead-letters (the oldest first). */
  deadLettersListed: 100,
  /** Open live connections (WebSocket and SSE) per key. */
  liveConnectionsPerKey: 100,
  /** Alerts and scheduled reports (API.md): rules and schedules per workspace, names, destination URLs. */
  alertRulesMax: 100,
  schedulesMax: 20,
  alertNameMaxLength: 200,
  destinationUrlMaxLength: 2048,
  /** Deliveries kept readable per rule or schedule (GET …/deliveries), newest first. */
  deliveriesListed: 100,
  /** A delivery is retried with backoff for this long after it was created, then marked failed. */
  deliveryRetryMs: 24 * 60 * 60 * 1000,
  /** A destination that has not answered after this long is cut off (and retried). */
  deliveryTimeoutMs: 10_000,
  /** The hub evaluates its alert rules this often while any is enabled (a transition lands within 15 s). */
  alertEvaluateEveryMs: 5_000,
  /** Alert evaluation (A): after an accepted batch the rules are evaluated at most this often (the alarm does the rest). */
  alertEvaluateAfterBatchMs: 1_000,
  /** No flapping: a rule that resolved fires again only after this long, however its value hovers. */
  alertRefireAfterMs: 5 * 60 * 1000,
  /** Deliveries: attempts under way at once per hub (a Worker opens at most 6 connections at a time), and per alarm run. */
  deliveriesInParallel: 6,
  deliveriesPerRun: 60,
  /** Retention cohorts (GET …/stats/retention): periods after each cohort (default and most), cohorts in one answer. */
  retentionPeriodsDefault: 8,
  retentionPeriodsMax: 31,
  retentionCohortsMax: 60,
  /** Gauges (D): names held live per hub (a new one beyond pushes out the longest quiet), and shown in live stats while heard within this long. */
  liveGaugeNamesMax: 100,
  liveGaugeStaleMs: 60 * 60 * 1000,
  /** Gauge names listed by GET …/stats/gauges without `name`. */
  gaugeNamesListed: 1000,
  /** /metrics series bounds: event types (the rest summed as type="_other"), platforms (the rest as "_other") and rooms (the busiest). */
  metricsTypesMax: 200,
  metricsPlatformsMax: 20,
  metricsRoomsMax: 100,
  /** Concurrency (E): closed minute rows a hub keeps for the drain (then the oldest go), and rows one drain writes. */
  concurrencyPendingRowsMax: 10_000,
  concurrencyRowsPerDrain: 2_000,
  /** The longest stretch of presence a hub accounts in one step (its alarm closes every minute; older stretches are skipped, bounding CPU). */
  concurrencyGapMaxMs: 6 * 60 * 60 * 1000,
  /** Share links a workspace may hold at once. */
  sharesMax: 100,
  shareNameMaxLength: 200,
  /** The `edgepulse/live` browser client, minified and gzipped. */
  liveClientMaxGzipBytes: 3 * 1024,
} as const;

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const ROOM_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
/** A gauge name: a letter, then up to 63 letters, digits, `_`, `.`, `:` or `-` (`cpu`, `queue.depth`). */
export const GAUGE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
export const EVENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** 1–64 printable characters, no control characters (nor lone surrogates), no leading or trailing space. */
export const EVENT_TYPE_RE = /^(?! )[^\p{Cc}\p{Cs}]{1,64}(?<! )$/u;
