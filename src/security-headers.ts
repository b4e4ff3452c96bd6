/**
 * The browser-facing policy of every page served from here (the dashboard and /api/docs) and of the
 * files they load. One source: the Worker sets these on what it serves, and the dashboard build
 * writes them into the static assets' `_headers` (dashboard/vite.config.ts) for the files the
 * Worker does not see.
 */
import type { MiddlewareHandler } from 'hono';

/**
 * No inline script, no eval, nothing from another origin. `connect-src 'self'` covers the live
 * WebSocket (CSP 3 matches ws:/wss: on the same host); `img-src data:` is for the icons Swagger UI's
 * stylesheet embeds.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every page and static file of the dashboard and /api/docs. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Added to pages answered over https only (browsers ignore it over http, RFC 6797 §8.1). */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/** A page response with the policy above; HSTS when the request came over https. */
export function withPageHeaders(res: Response, requestUrl: string): Response {
  const out = new Response(res.body, res); // a fetched response's headers are immutable
  for (const [name, value] of Object.entries(PAGE_HEADERS)) out.headers.set(name, value);
  if (requestUrl.startsWith('https:')) out.headers.set('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
  return out;
}

/** The static assets' `_headers` file: the same policy for every file the asset server answers by itself. */
export function assetsHeadersFile(): string {
  const lines = Object.entries(PAGE_HEADERS).map(([name, value]) => `  ${name}: ${value}`);
  return ['# Written by the dashboard build from src/security-headers.ts; do not edit.', '/*', ...lines, ''].join('\n');
}

/** Every other answer (JSON, CSV, scripts) is never to be sniffed into something else. */
export const nosniff: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.res.status === 101) return; // a WebSocket upgrade has no body
  try {
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
  } catch {
    c.res = new Response(c.res.body, c.res); // immutable headers (a response passed through from a Durable Object)
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
  }
};
