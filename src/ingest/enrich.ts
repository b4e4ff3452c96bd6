import Bowser from 'bowser';
import type { NormalizedEvent, RequestFacts } from './types';

type Inferred = Partial<Record<'platform' | 'os' | 'browser' | 'device', string>>;

const PLATFORM_BY_OS: Record<string, string> = { iOS: 'iOS', Android: 'Android' };

/** What a User-Agent says of platform, os, browser and device; empty for what it cannot tell. */
export function parseUserAgent(userAgent: string | undefined): Inferred {
  if (!userAgent) return {};
  const parsed = Bowser.parse(userAgent);
  const out: Inferred = {};
  const osName = parsed.os.name;
  if (osName) out.os = parsed.os.version ? `${osName} ${parsed.os.version}` : osName;
  if (parsed.browser.name) out.browser = parsed.browser.name;
  if (parsed.platform.type) out.device = parsed.platform.type;
  if (parsed.browser.name) out.platform = 'Web';
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
    ...(facts.country && facts.country !== 'XX' ? { country: facts.country } : {}),
    ...fromUa,
    ...(userAgent ? { userAgent } : {}),
    ...ctx,
  };
  return event;
}
