import { z } from 'zod';
import { LIMITS, SLUG_RE } from './limits';

export const KEY_KINDS = ['ingest', 'read', 'admin'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];
export const KEY_PREFIX: Record<KeyKind, string> = { ingest: 'pk_', read: 'rk_', admin: 'sk_' };

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
export const TimeZone = z.string().min(1).max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin');
export const RetentionDays = z.number().int().min(1).max(LIMITS.retentionDaysMax);
export const EventsPerSecond = z.number().int().min(1).max(LIMITS.eventsPerSecondMax);

const rateLimitText = `Ingestion rate limit of the workspace (every ingest route: events, collect, Segment, webhooks): a token bucket of \`eventsPerSecond\` (default ${LIMITS.defaultEventsPerSecond}) holding \`burstSeconds\` seconds' worth. Each event of a request takes one token, duplicates included (checking them is work too; a refused request stores nothing, so retrying it makes no duplicate). Beyond it: 429 \`rate_limited\` with \`Retry-After\` (whole seconds until the bucket holds enough for that request); nothing of the refused request is stored. A request larger than the whole bucket is taken once it is full. The bucket lives in the workspace's hub, in memory: a restart refills it.`;

export const Workspace = z
  .object({
    slug: z.string(),
    name: z.string(),
    timezone: z.string(),
    retentionDays: z.number().int(),
    allowedOrigins: z.array(z.string()),
    livekitConfigured: z.boolean(),
    webhookSecretConfigured: z.boolean(),
    rateLimit: z.object({ eventsPerSecond: z.number().int(), burstSeconds: z.number().int() }).meta({ description: rateLimitText }),
    rollupProperties: z.array(z.string()).meta({ description: 'Property names rolled up like the built-in dimensions (see PATCH).' }),
    createdAt: z.string(),
  })
  .meta({ id: 'Workspace' });
export type Workspace = z.infer<typeof Workspace>;

export const CreateWorkspaceInput = z.object({
  slug: z.string().regex(SLUG_RE, 'must match ^[a-z0-9][a-z0-9-]{1,62}$'),
  name: z.string().min(1).max(200).optional(),
  timezone: TimeZone.optional(),
  retentionDays: RetentionDays.optional(),
});

function decodesToKey(secret: string): boolean {
  try {
    return atob(secret.slice('whsec_'.length)).length >= 8;
  } catch {
    return false;
  }
}

const ORIGIN_EXAMPLE = 'like https://shop.example, http://localhost:3000 or https://*.shop.example';

/**
 * Why an `allowedOrigins` entry is no origin, or null: `*`, or `http(s)://host[:port]` written as
 * browsers send it in `Origin` (lowercase, no default port, no path, query, fragment or user), where
 * the host may start with `*.` for any subdomain.
 */
export function originEntryProblem(entry: string): string | null {
  if (entry === '*') return null;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\*\.)?(.*)$/.exec(entry);
  if (!m) return `must be an origin (scheme://host[:port]), ${ORIGIN_EXAMPLE}`;
  const [, scheme, wildcard = '', rest] = m;
  if (!/^https?$/i.test(scheme)) return `must start with http:// or https://, ${ORIGIN_EXAMPLE}`;
  if (/[/?#]/.test(rest)) return `must be an origin, without a path, query or fragment (no trailing /), ${ORIGIN_EXAMPLE}`;
  if (rest.includes('@')) return 'must not hold a user name or password';
  if (rest.includes('*')) return 'a * may only stand first in the host, as in https://*.shop.example (or alone: any origin)';
  let url: URL;
  try {
    url = new URL(`${scheme}://${wildcard ? 'wildcard.' : ''}${rest}`);
  } catch {
    return `must be an origin with a valid host and port, ${ORIGIN_EXAMPLE}`;
  }
  const written = wildcard ? url.origin.replace('://wildcard.', '://*.') : url.origin;
  return written === entry ? null : `must be written as browsers send it in Origin: ${written}`;
}

const AllowedOrigin = z
  .string()
  .min(1)
  .max(300)
  .superRefine((entry, ctx) => {
    const problem = originEntryProblem(entry);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const rollupPropertiesText = `Up to ${LIMITS.rollupPropertiesMax} event property names (1–${LIMITS.propertyNameMaxLength} characters, no duplicates) rolled up per hour and local day like the built-in dimensions, so \`by=property:NAME\` and \`property.NAME=\` on them read rollups instead of the archive. Values are kept as text (\`true\`, \`42\`), cut to ${LIMITS.rollupPropertyValueMaxLength} characters (ending in …). A property is rolled up from the hour after it is added (plus the allowed clock skew); ranges starting earlier keep reading the archive. The change reaches ingestion within a few seconds.`;

export const RollupProperties = z
  .array(z.string().min(1).max(LIMITS.propertyNameMaxLength))
  .max(LIMITS.rollupPropertiesMax)
  .superRefine((names, ctx) => {
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${n}" is listed twice` });
    });
  })
  .meta({ description: rollupPropertiesText });

export const UpdateWorkspaceInput = z
  .object({
    name: z.string().min(1).max(200),
    timezone: TimeZone,
    retentionDays: RetentionDays,
    allowedOrigins: z.array(AllowedOrigin).max(100).meta({
      description: 'Origins whose pages may send events with the ingest key: `scheme://host[:port]` as browsers send it (http or https, lowercase, no path), `https://*.example.com` for its subdomains, `*` for any; empty allows any. Anything else is a 400 naming `allowedOrigins.N`.',
    }),
    livekit: z.object({ apiKey: z.string().min(1).max(200), apiSecret: z.string().min(1).max(500) }).nullable(),
    webhookSecret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]{8,}$/, 'must look like whsec_<base64>')
      // The shape alone lets through text no verifier can decode; every delivery would then fail.
      .refine(decodesToKey, 'must be whsec_ followed by valid base64 of at least 8 bytes')
      .nullable(),
    rateLimit: z
      .object({ eventsPerSecond: EventsPerSecond })
      .strict()
      .nullable()
      .meta({ description: `${rateLimitText} \`null\` goes back to the default. A change reaches every edge location within a few seconds.` }),
    rollupProperties: RollupProperties,
  })
  .partial()
  .strict();

export const ApiKey = z
  .object({
    id: z.string(),
    kind: z.enum(KEY_KINDS),
    prefix: z.string(),
    name: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;

export const CreateKeyInput = z.object({ kind: z.enum(KEY_KINDS), name: z.string().min(1).max(200).optional() });

export const CreatedWorkspace = z.object({
  workspace: Workspace,
  keys: z.object({ ingest: z.string(), read: z.string(), admin: z.string() }),
});
