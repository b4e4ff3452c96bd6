import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { trackerScript } from '../client/tracker';
import type { AppEnv } from '../env';

export const trackerRoutes = new OpenAPIHono<AppEnv>();

trackerRoutes.openapi(
  createRoute({
    method: 'get', path: '/t.js', tags: ['Events'],
    summary: 'The browser tracker script (≤ 1 KB gzipped)',
    description: [
      '`<script defer src="…/t.js" data-workspace="…" data-key="pk_…"></script>`, optional `data-room` (presence join, heartbeat every 30 s, leave on pagehide), `data-respect-dnt` (honour Do Not Track), `data-host` (another collector origin).',
      'Sends page views (also on `history.pushState`/`replaceState`/`popstate`), `edgepulse.track(type, properties)` and `edgepulse.identify(userId)` to `POST /api/v1/collect` with `navigator.sendBeacon`, falling back to `fetch(…, { keepalive: true })`. Never throws into the page.',
    ].join('\n\n'),
    responses: { 200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } } },
  }),
  (c) =>
    c.body(trackerScript(), 200, {
      'content-type': 'application/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600, stale-while-revalidate=86400',
      'x-content-type-options': 'nosniff',
      'access-control-allow-origin': '*',
    }),
);
