import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { createKey, listKeys, revokeKey } from '../auth/keys';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { LIMITS } from '../shared/limits';
import { ApiKey, CreateKeyInput } from '../shared/workspaces';
import { authErrors, bearer, json, WsParams } from './openapi';

export const keyRoutes = new OpenAPIHono<AppEnv>();

keyRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/keys', tags: ['Keys'], security: bearer,
    summary: 'Create a key (admin key); the secret is shown this once',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams, body: { ...json(CreateKeyInput, 'The key to create'), required: true } },
    responses: { 201: json(z.object({ key: ApiKey, secret: z.string() }), 'Created'), ...authErrors },
  }),
  async (c) => {
    const { kind, name } = c.req.valid('json');
    return c.json(await createKey(db(c.env.DB), c.get('workspace').id, kind, name), 201);
  },
);

keyRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/keys', tags: ['Keys'], security: bearer,
    summary: 'List the workspace’s live keys, without secrets (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(z.object({ keys: z.array(ApiKey) }), 'Keys'), ...authErrors },
  }),
  async (c) => c.json({ keys: await listKeys(db(c.env.DB), c.get('workspace').id) }, 200),
);

keyRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/keys/{id}', tags: ['Keys'], security: bearer,
    summary: `Revoke a key (admin key); it stops working within ${LIMITS.keyCacheMs / 1000} s, and its open live connections close now`,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams.extend({ id: z.string().meta({ param: { name: 'id', in: 'path' } }) }) },
    responses: { 204: { description: 'Revoked' }, ...authErrors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const workspaceId = c.get('workspace').id;
    if (!(await revokeKey(db(c.env.DB), workspaceId, id))) throw new ApiError('not_found', `no key "${id}" in this workspace`);
    // The key is revoked either way: if a hub fails here, that key's open connections stay until they reconnect (refused within 60 s).
    await workspaceHub(c.env, workspaceId).closeKeyLive(workspaceId, id).catch((err) => console.warn(`revoke ${id}: closing live connections failed`, String(err)));
    return c.body(null, 204);
  },
);
