import Bowser from 'bowser';
import type { NormalizedEvent, RequestFacts } from './types';

type Inferred = Partial<Record<'platform' | 'os' | 'browser' | 'device', string>>;

const PLATFORM_BY_OS: Record<string, string> = { iOS: 'iOS', Android: 'Android' };
const BROWSER_UA = /^(Mozilla|Opera)\//;
/** Cloudflare's country codes for "unknown" (XX) and Tor (T1): no country at all. */
const NO_COUNTRY = new Set(['XX', 'T1']);

/** What a User-Agent says of platform, os, browser and device; empty for what it cannot tell. */
export function parseUserAgent(userAgent: string | undefined): Inferred {
  if (!userAgent) return {};
  // Clients send the same few User-Agents over and over; parsing one costs more than the rest of an event.
  const known = uaCache.get(userAgent);
  if (known) return known;
  const out = parseUncached(userAgent);
  if (uaCache.size >= UA_CACHE_MAX) uaCache.clear();
  uaCache.set(userAgent, out);
  return out;
}

const uaCache = new Map<string, Readonly<Inferred>>();
const UA_CACHE_MAX = 1000;

function parseUncached(userAgent: string): Inferred {
  const parsed = Bowser.parse(userAgent);
  const out: Inferred = {};
  const osName = parsed.os.name;
  // Windows reports kernel versions ("NT 10.0"); its marketing name ("10") is what people know.
  const osVersion = osName === 'Windows' ? (parsed.os.versionName ?? parsed.os.version) : parsed.os.version;
  if (osName) out.os = osVersion ? `${osName} ${osVersion}` : osName;
  // Only browsers send "Mozilla/…"; for anything else bowser's fallback "browser" is an app's HTTP client.
  const browser = BROWSER_UA.test(userAgent) ? parsed.browser.name : undefined;
  if (browser) out.browser = browser;
  if (parsed.platform.type) out.device = parsed.platform.type;
  if (browser) out.platform = 'Web';
  else if (osName && PLATFORM_BY_OS[osName]) out.platform = PLATFORM_BY_OS[osName];
  return out;
}

/** Fills context from the request where the event does not say; the event's own context wins. */
export function enrich(event: NormalizedEvent, facts: RequestFacts, inferred: Inferred): NormalizedEvent {
  const ctx = event.context;
  const userAgent = ctx.userAgent ?? facts.userAgent;
  // A UA given in the event's context describes that client better than the request's.
  const fromUa = ctx.userAgent ? parseUserAgent(ctx.userAgent) : inferred;
  event.context = {
    ...(facts.country && !NO_COUNTRY.has(facts.country) ? { country: facts.country } : {}),
    ...fromUa,
    ...(userAgent ? { userAgent } : {}),
    ...ctx,
  };
  return event;
}
