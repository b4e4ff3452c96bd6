import { OpenAPIHono } from '@hono/zod-openapi';
import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { ArchiveObjectChanged } from './archive';
import { ApiError, codeForStatus } from './errors';
import { zodIssues } from './ingest/parse';
import { queryParamsError } from './routes/query-params';
import { docsPage } from './routes/docs';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { keyRoutes } from './routes/keys';
import { liveRoutes } from './routes/live';
import { segmentRoutes } from './routes/segment';
import { trackerRoutes } from './routes/tracker';
import { webhookRoutes } from './routes/webhooks';
import { sessionRoutes } from './routes/session';
import { workspaceRoutes } from './routes/workspaces';
import { statsRoutes } from './routes/stats';
import { retentionRoutes } from './routes/stats-retention';
import { statsGaugeRoutes } from './routes/stats-gauges';
import { userRoutes } from './routes/users';
import { historySessionRoutes } from './routes/sessions';
import { exportRoutes } from './routes/export';
import { metricsRoutes } from './routes/metrics';
import { deadLetterRoutes } from './routes/dead-letters';
import { migrationRoutes } from './routes/migration';
import { erasureRoutes } from './routes/erasures';
import { scheduleRoutes } from './routes/schedules';
import { alertRoutes } from './routes/alerts';
import { connectionRoutes } from './routes/stats-connections';
import { shareRoutes } from './routes/shares';
import { readCors } from './routes/read-cors';
import { nosniff, withPageHeaders } from './security-headers';

export const app = new OpenAPIHono<AppEnv>({
  // Every schema violation becomes the contract's 400 body, naming each path.
  defaultHook: (result) => {
    if (!result.success) {
      const badParams = queryParamsError(result);
      if (badParams) throw badParams;
      const issues = zodIssues(result.error);
      throw new ApiError('invalid_request', `${issues[0]?.path}: ${issues[0]?.message}`, issues);
    }
  },
});

app.use(nosniff);
// Pages of a workspace's allowedOrigins may read its reports and live data (never with cookies).
app.use('/api/v1/workspaces/*', readCors);

app.route('/', healthRoutes);
app.route('/api/v1', workspaceRoutes);
app.route('/api/v1', keyRoutes);
app.route('/api/v1', eventRoutes);
app.route('/api/v1', liveRoutes);
app.route('/api/v1', webhookRoutes);
app.route('/', segmentRoutes);
app.route('/', trackerRoutes);
app.route('/api/v1', sessionRoutes);
app.route('/api/v1', statsRoutes);
app.route('/api/v1', retentionRoutes);
app.route('/api/v1', statsGaugeRoutes);
app.route('/api/v1', userRoutes);
app.route('/api/v1', historySessionRoutes);
app.route('/api/v1', exportRoutes);
app.route('/api/v1', metricsRoutes);
app.route('/api/v1', deadLetterRoutes);
app.route('/api/v1', migrationRoutes);
app.route('/api/v1', erasureRoutes);
app.route('/api/v1', scheduleRoutes);
app.route('/api/v1', alertRoutes);
app.route('/api/v1', connectionRoutes);
app.route('/api/v1', shareRoutes);

app.openAPIRegistry.registerComponent('securitySchemes', 'segmentWriteKey', {
  type: 'http',
  scheme: 'basic',
  description: 'Segment-compatible routes: an ingest key (pk_) as the Basic-auth user name, empty password',
});
app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
  type: 'http',
  scheme: 'bearer',
  description: 'The root token, a workspace key: pk_ (ingest), rk_ (read), sk_ (admin), or a share link’s token sh_ (aggregates only)',
});

app.doc31('/api/v1/openapi.json', (c) => ({
  openapi: '3.1.0',
  info: {
    title: 'edgepulse',
    version: c.env.VERSION,
    description: 'Self-hosted, real-time analytics on Cloudflare’s edge. Errors are `{ "error": { "code", "message", "issues"? } }`. A read route answers a query parameter it does not take, or one given twice, with 400 `invalid_request` naming each (`issues[].path`), so a misspelt filter never widens a report.',
  },
  servers: [{ url: new URL(c.req.url).origin }],
}));
app.get('/api/docs', (c) => withPageHeaders(c.html(docsPage('/api/v1/openapi.json')), c.req.url));
// Served outside the zod routes, but part of "every route here": listed by hand.
app.openAPIRegistry.registerPath({
  method: 'get', path: '/api/v1/openapi.json', tags: ['Operations'], summary: 'This OpenAPI 3.1 document',
  responses: { 200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } } },
});
app.openAPIRegistry.registerPath({
  method: 'get', path: '/api/docs', tags: ['Operations'], summary: 'The interactive API reference (Swagger UI from this Worker’s static assets; no CDN)',
  responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
});

/** Paths the Worker answers itself; every other path is the dashboard (wrangler.toml runs the Worker first for it). */
const isApiPath = (path: string) => path.startsWith('/api/') || path.startsWith('/v1/') || path === '/health' || path === '/t.js';

// The dashboard's pages and files (SPA fallback included) with the security headers; the hashed
// files under /assets/ skip the Worker and get the same headers from `_headers`.
app.notFound(async (c) => {
  if (!isApiPath(c.req.path)) return withPageHeaders(await c.env.ASSETS.fetch(c.req.raw), c.req.url);
  return c.json(new ApiError('not_found', `no route ${c.req.method} ${new URL(c.req.url).pathname}`).toBody(), 404);
});

/** The one error handler: every failure leaves as the contract's error body. */
export const handleError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return c.json(err.toBody(), err.status, err.headers);
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status >= 500) console.error(err);
    const message = status === 400 && /JSON/i.test(err.message) ? `not valid JSON: ${err.message}` : err.message || 'request failed';
    return c.json(new ApiError(codeForStatus(status), message).toBody(), status);
  }
  // A raw read that outlived the grace of a compaction's replaced parts: the same question succeeds again.
  if (err instanceof ArchiveObjectChanged) {
    console.warn('archive changed during a read', String(err));
    return c.json(new ApiError('unavailable', 'the archive changed while this read ran (a compaction finished): retry').toBody(), 503, { 'Retry-After': '1' });
  }
  // Durable Object and D1 errors that say a retry may succeed (reset, overloaded) are 503s to retry.
  const flags = err as { retryable?: boolean; overloaded?: boolean };
  if (flags.retryable || flags.overloaded) {
    console.warn('retryable error', String(err));
    return c.json(new ApiError('unavailable', 'temporarily unavailable, retry shortly').toBody(), 503, { 'Retry-After': '1' });
  }
  console.error('unhandled error', err);
  return c.json(new ApiError('internal', 'internal error').toBody(), 500);
};
app.onError(handleError);
