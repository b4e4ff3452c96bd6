/** Every limit of the wire contract, named once (API.md). */
export const LIMITS = {
  batchMaxEvents: 500,
  bodyMaxBytes: 1024 * 1024,
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
  dedupeDays: 7,
  keyCacheMs: 60_000,
  liveTokenTtlMs: 5 * 60 * 1000,
  sessionTtlMs: 7 * 24 * 60 * 60 * 1000,
  /** How long a session trusts that its key is not revoked. */
  sessionKeyCacheMs: 5_000,
  eventsPageMax: 1000,
  eventsPageDefault: 100,
  retentionDaysMax: 3650,
  defaultRetentionDays: 90,
} as const;

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const ROOM_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
export const EVENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** 1–64 printable characters, no control characters, no leading or trailing space. */
export const EVENT_TYPE_RE = /^(?! )[^\p{Cc}]{1,64}(?<! )$/u;
