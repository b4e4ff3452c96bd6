import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { migrationProgress } from '../history/archive-migration';
import { MigrationProgress } from '../shared/migration';
import { authErrors, bearer, json } from './openapi';

export const migrationRoutes = new OpenAPIHono<AppEnv>();

migrationRoutes.openapi(
  createRoute({
    method: 'get', path: '/admin/migration', tags: ['Operations'], security: bearer,
    summary: 'Progress of the move of D1 raw events to the archive (root token)',
    description:
      'Installations from before the R2 archive kept raw events in D1. The cron moves them to the archive in chunks ' +
      '(resumable, each event exactly once) and drops the D1 table when all are moved; `done` is then true for good. ' +
      'A new installation is done at its first cron run.',
    middleware: [requireAccess('root')] as const,
    responses: { 200: json(MigrationProgress, 'Where the migration stands'), ...authErrors },
  }),
  async (c) => c.json(await migrationProgress(c.env.DB), 200),
);
