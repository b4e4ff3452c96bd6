import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, findWorkspace } from '../history/workspaces';
import { originAllowed } from './ingest-helper';

/**
 * CORS for pages of a workspace's `allowedOrigins` on its read and live routes. Credentials are a
 * bearer key or `?token=` only: `Access-Control-Allow-Credentials` is never sent, so a browser never
 * lets another origin's page read an answer its cookie bought.
 */

/** The read routes (`GET`, read key) and the live token (`POST`), as paths after `/api/v1/workspaces/{ws}`. */
const READ_ROUTES: Array<{ method: 'GET' | 'POST'; path: RegExp }> = [
  { method: 'GET', path: /^$/ },
  { method: 'GET', path: /^\/stats\/(summary|timeseries|breakdown|retention|gauges|connections)$/ },
  { method: 'GET', path: /^\/(events|export|metrics|users|sessions|rooms|live)$/ },
  { method: 'GET', path: /^\/users\/[^/]+$/ },
  { method: 'GET', path: /^\/rooms\/[^/]+\/live$/ },
  { method: 'POST', path: /^\/live\/token$/ },
];

const WORKSPACE_PATH = /^\/api\/v1\/workspaces\/([^/]+)(\/.*)?$/;

/** The workspace slug and the method a request (or its preflight) is about, when that is a read route. */
export function readRouteOf(path: string, method: string): string | undefined {
  const match = WORKSPACE_PATH.exec(path);
  if (!match) return undefined;
  const rest = match[2] ?? '';
  return READ_ROUTES.some((r) => r.method === method && r.path.test(rest)) ? match[1] : undefined;
}

const pageCors = cors({
  origin: (origin) => origin,
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'Accept', 'Last-Event-ID'],
  exposeHeaders: ['Retry-After'],
  maxAge: 86400,
  credentials: false,
});

async function allowedOriginsOf(c: Context<AppEnv>, slug: string): Promise<string[]> {
  try {
    return (await findWorkspace(db(c.env.DB), decodeURIComponent(slug)))?.allowedOrigins ?? [];
  } catch {
    return []; // a slug no workspace could have (or malformed): no CORS, the route answers for itself
  }
}

export const readCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header('origin');
  if (!origin) return next(); // servers and same-origin reads: no CORS work
  const preflight = c.req.method === 'OPTIONS' ? c.req.header('access-control-request-method') : undefined;
  const slug = readRouteOf(c.req.path, preflight?.toUpperCase() ?? c.req.method);
  if (slug === undefined) return next();
  const allowed = await allowedOriginsOf(c, slug);
  const listed = originAllowed(origin, allowed);
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') {
    // Browsers apply no CORS to WebSockets: once a workspace lists origins, the Worker refuses the others itself.
    if (!listed && allowed.length && origin !== new URL(c.req.url).origin) {
      throw new ApiError('forbidden', `origin ${origin} is not in this workspace's allowedOrigins (PATCH /api/v1/workspaces/${slug} to add it)`);
    }
    return next();
  }
  if (!listed) return next(); // no CORS headers: the browser keeps the answer from the page
  return pageCors(c, next);
};
