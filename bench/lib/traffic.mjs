// The benchmarks' synthetic traffic (bench:capacity, bench:reports): 20,000 users, 10 event types,
// 50 rooms, 40 countries, skewed as real traffic is, and four properties, three of them the ones the
// benchmarks keep in rollups. Seeded: the same events every run.
export const USERS = 20_000;
export const TYPES = ['page.view', 'click', 'message.sent', 'api.call', 'search', 'file.uploaded', 'login', 'signup', 'error.shown', 'Order Completed'];
export const ROOMS = Array.from({ length: 50 }, (_, i) => `room-${String(i).padStart(2, '0')}`);
export const COUNTRIES = ['US', 'DE', 'IN', 'BR', 'GB', 'FR', 'JP', 'CA', 'AU', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'AR', 'CO', 'CL', 'ZA', 'NG',
  'EG', 'KE', 'TR', 'SA', 'AE', 'IL', 'RU', 'UA', 'CN', 'KR', 'TW', 'SG', 'ID', 'PH', 'VN', 'TH', 'NZ', 'IE', 'PT', 'CH'];
const PLATFORMS = ['Web', 'iOS', 'Android'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Edge'];
const OSES = ['macOS', 'Windows', 'iOS', 'Android', 'Linux'];
const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const FEATURES = ['chat', 'video', 'files', 'search', 'calendar', 'billing', 'admin', 'api', 'docs', 'mail', 'tasks', 'wiki', 'forms', 'maps', 'crm', 'ads', 'shop', 'blog', 'help', 'jobs'];
const ERRORS = ['timeout', 'network', 'crash', 'forbidden'];
/** The properties the benchmarks keep in rollups (PATCH rollupProperties). */
export const ROLLUP_PROPERTIES = ['plan', 'campaign', 'feature'];
/** A property left out of rollups: questions about it read the archive (500 values, skewed). */
export const ARCHIVE_ONLY_PROPERTY = 'path';
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A small seeded generator (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A traffic source: `input(ts)` is the next event as a client sends it (API EventInput). */
export function traffic(seed) {
  const rand = rng(seed);
  // Skewed pick: the first entries are the most frequent, as real traffic's countries and rooms are.
  const skewed = (xs) => xs[Math.floor(rand() * rand() * xs.length)];
  const uniform = (xs) => xs[Math.floor(rand() * xs.length)];
  /** An event id as the SDK makes one (src/client eventId: time in base 36, then 16 random characters). */
  const eventId = (ts) => {
    let out = ts.toString(36).padStart(9, '0');
    for (let i = 0; i < 16; i++) out += ID_ALPHABET[Math.floor(rand() * 36)];
    return out;
  };
  return {
    input(ts) {
      const user = Math.floor(rand() * USERS);
      const type = skewed(TYPES);
      const e = {
        id: eventId(ts),
        type,
        timestamp: ts,
        userId: `user-${user}`,
        // A session: one user's half hour.
        sessionId: `s-${user}-${Math.floor(ts / 1_800_000)}`,
        durationMs: Math.round(rand() * rand() * 20_000) / 10,
        properties: { plan: PLANS[user % 4], campaign: `c${user % 30}`, feature: uniform(FEATURES), [ARCHIVE_ONLY_PROPERTY]: `/app/${Math.floor(rand() * rand() * 500)}` },
        context: { country: skewed(COUNTRIES), platform: PLATFORMS[user % 3], device: DEVICES[user % 3], browser: BROWSERS[user % 4], os: OSES[user % 5] },
      };
      if (rand() < 0.8) e.room = skewed(ROOMS);
      if (type === 'api.call' || type === 'file.uploaded') {
        e.bytesIn = Math.floor(rand() * 50_000);
        e.bytesOut = Math.floor(rand() * 200_000);
      }
      if (type === 'Order Completed') e.value = Math.round(rand() * 20_000) / 100;
      if (type === 'error.shown' || rand() < 0.01) e.error = uniform(ERRORS);
      return e;
    },
  };
}

/** The event as the ingest route stores it (src/ingest/types NormalizedEvent), received when it happened. */
export function normalized(input) {
  return {
    id: input.id, type: input.type, ts: input.timestamp, receivedAt: input.timestamp,
    userId: input.userId ?? null, sessionId: input.sessionId ?? null, room: input.room ?? null,
    durationMs: input.durationMs ?? null, bytesIn: input.bytesIn ?? null, bytesOut: input.bytesOut ?? null,
    error: input.error ?? null, value: input.value ?? null, properties: input.properties ?? {}, context: input.context ?? {},
  };
}
