import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { toRef } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { DeadLetterList, DeadLetterRetry } from '../shared/dead-letters';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, json, WsParams } from './openapi';

export const deadLetterRoutes = new OpenAPIHono<AppEnv>();

const IdParams = WsParams.extend({
  id: z.string().min(1).max(100).meta({ param: { name: 'id', in: 'path' }, description: 'The dead letter’s id' }),
});

const unknown = (id: string) => new ApiError('not_found', `no dead letter "${id}" in this workspace`);

deadLetterRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/dead-letters', tags: ['Operations'], security: bearer,
    summary: 'Batches that could not be written to history (admin key)',
    description:
      'When D1 keeps refusing a drain while it takes an ordinary one (a probe), the hub drains the batches one by one and sets aside the one D1 refuses by itself, ' +
      'with D1’s error, so the batches behind it reach history; when every write fails, D1 is down and everything waits in the outbox instead (nothing is set aside). ' +
      `Dead letters are kept in the hub’s storage until retried or dropped; their events were counted by the live view. The oldest ${LIMITS.deadLettersListed} are listed; ` +
      '`edgepulse_dead_letter_batches` in …/metrics counts them all.',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(DeadLetterList, 'Dead letters, the oldest first'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    return c.json(await workspaceHub(c.env, ws.id).deadLetters(toRef(ws)), 200);
  },
);

deadLetterRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/dead-letters/{id}/retry', tags: ['Operations'], security: bearer,
    summary: 'Write a dead letter to history now (admin key)',
    description:
      'Writes the batch to D1 at once, under its own id, so its events arrive exactly once however often it is retried. ' +
      '`drained`: its events are in history and the dead letter is gone; `failed`: D1 refused it again (with the error) and it stays.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 200: json(DeadLetterRetry, 'The outcome of the write'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    const outcome = await workspaceHub(c.env, ws.id).retryDeadLetter(toRef(ws), id);
    if (!outcome) throw unknown(id);
    return c.json(outcome, 200);
  },
);

deadLetterRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/dead-letters/{id}', tags: ['Operations'], security: bearer,
    summary: 'Drop a dead letter (admin key): its events are lost for good',
    description:
      `The batch’s events never reach history (reports, the event log, exports) and cannot be brought back; their ids stay known to de-duplication for ${LIMITS.dedupeDays} days, so sending them again within that time is answered as duplicates.`,
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 204: { description: 'Dropped' }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    if (!(await workspaceHub(c.env, ws.id).dropDeadLetter(toRef(ws), id))) throw unknown(id);
    return c.body(null, 204);
  },
);
