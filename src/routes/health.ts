import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { json } from './openapi';

export const healthRoutes = new OpenAPIHono<AppEnv>();

healthRoutes.openapi(
  createRoute({
    method: 'get', path: '/health', tags: ['Operations'], summary: 'Liveness',
    responses: { 200: json(z.object({ status: z.literal('ok'), version: z.string() }), 'The Worker is up') },
  }),
  (c) => c.json({ status: 'ok' as const, version: c.env.VERSION }, 200),
);
