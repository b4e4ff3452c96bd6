/**
 * edgepulse Hono middleware (`edgepulse/hono`): records each request as an `api.request` event
 * (method, matched route, status, durationMs, bytesIn/bytesOut, error on 5xx) and sends it with
 * `executionCtx.waitUntil`, so the response is never delayed.
 *
 *   const ep = new EdgePulse({ host, workspace: 'demo', key: 'pk_…' });
 *   app.use('*', edgepulse(ep));
 */
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { EdgePulse, type EdgePulseEvent, type EdgePulseOptions } from './index';

export interface MiddlewareOptions {
  /** Event type (default `api.request`). */
  type?: string;
  /** Who made the request, e.g. from a session or auth header. */
  userId?: (c: Context) => string | undefined;
  /** Requests not to record (health checks …). */
  skip?: (c: Context) => boolean;
  /** Flush after each request via waitUntil (default true: Workers may stop the isolate between requests). */
  flushEachRequest?: boolean;
}

const toInt = (v: string | null | undefined) => {
  const n = v == null ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

/** Body size of a response sent without Content-Length: counted on a clone, off the response's path. */
async function countBody(res: Response): Promise<number | undefined> {
  const type = res.headers.get('content-type') ?? '';
  if (!res.body || res.status === 101 || type.startsWith('text/event-stream')) return undefined; // streams may never end
  const reader = res.clone().body!.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}

export function edgepulse(client: EdgePulse | EdgePulseOptions | ((c: Context) => EdgePulse), options: MiddlewareOptions = {}): MiddlewareHandler {
  const fixed = client instanceof EdgePulse ? client : typeof client === 'function' ? undefined : new EdgePulse(client);
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      try {
        if (!options.skip?.(c)) {
          const ep = fixed ?? (client as (c: Context) => EdgePulse)(c);
          const status = c.res.status;
          const event: EdgePulseEvent = {
            type: options.type ?? 'api.request',
            durationMs: Math.max(0, performance.now() - started),
            bytesIn: toInt(c.req.header('content-length')),
            bytesOut: toInt(c.res.headers.get('content-length')),
            userId: options.userId?.(c)?.slice(0, 128) || undefined,
            properties: { method: c.req.method, route: routePath(c) || c.req.path.slice(0, 1000), status },
            context: { ...(c.req.header('user-agent') ? { userAgent: c.req.header('user-agent')!.slice(0, 2048) } : {}) },
          };
          if (status >= 500) event.error = (c.error?.message || `HTTP ${status}`).slice(0, 128);
          const counting = event.bytesOut === undefined ? countBody(c.res) : undefined;
          const record = async () => {
            if (counting) event.bytesOut = await counting.catch(() => undefined);
            ep.track(event);
            if (options.flushEachRequest !== false) await ep.flush();
          };
          const sending = record().catch(() => undefined);
          try {
            c.executionCtx.waitUntil(sending);
          } catch {
            // not on Workers (no execution context): the recording runs on its own
          }
        }
      } catch {
        // recording must never break the app's own response
      }
    }
  };
}

export { EdgePulse };
