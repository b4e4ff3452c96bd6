import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { ERASURE_REQUEST_BUDGET_MS, getErasure, requestErasure, runErasure, toErasure } from '../history/erasure';
import { Erasure, ErasureAnswer } from '../shared/erasures';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, json, WsParams } from './openapi';

export const erasureRoutes = new OpenAPIHono<AppEnv>();

erasureRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/users/{userId}', tags: ['Reports'], security: bearer,
    summary: 'Erase one user’s raw events everywhere (admin key)',
    description:
      'Starts an erasure and answers at once (202); `GET …/erasures/{id}` follows it. The job takes the user’s events out of the hub’s outbox ' +
      '(acknowledged, not yet archived), its dead letters and the live recent lists, deletes the user’s per-user daily rollups, and rewrites every ' +
      'archive file holding the user’s rows without them, under the same key (each file’s other rows and metadata unchanged). ' +
      'Events of the user that arrive while it runs are erased too; later ones are kept. Anonymous aggregates (counts, sums, sketches) stay. ' +
      'It starts right away (a small workspace is done in seconds) and the cron continues it in bounded steps until done. ' +
      'Asking again while one is pending answers that one.',
    middleware: [requireAccess('admin')] as const,
    request: {
      params: WsParams.extend({ userId: z.string().min(1).max(LIMITS.userIdMaxLength).meta({ param: { name: 'userId', in: 'path' }, description: 'The user id, as sent in events' }) }),
    },
    responses: { 202: json(ErasureAnswer, 'The erasure (new, or the one already pending for this user)'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { userId } = c.req.valid('param');
    const { row } = await requestErasure(c.env.DB, ws.id, userId);
    c.executionCtx.waitUntil(
      runErasure(c.env, row.id, ERASURE_REQUEST_BUDGET_MS).catch((err) => console.warn(`erasure ${row.id}: the cron continues it:`, String(err))),
    );
    return c.json({ erasure: toErasure(row) }, 202);
  },
);

erasureRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/erasures/{id}', tags: ['Reports'], security: bearer,
    summary: 'Where an erasure stands (admin key)',
    description: '`pending` while the job runs, `done` once none of the user’s raw events is readable anywhere; `eventsErased` counts the raw events removed.',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams.extend({ id: z.string().min(1).max(100).meta({ param: { name: 'id', in: 'path' }, description: 'The erasure’s id' }) }) },
    responses: { 200: json(Erasure, 'The erasure: `status` and `eventsErased` as API.md says, with its id, user and times'), ...authErrors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const row = await getErasure(c.env.DB, c.get('workspace').id, id);
    if (!row) throw new ApiError('not_found', `no erasure "${id}" in this workspace`);
    return c.json(toErasure(row), 200);
  },
);
