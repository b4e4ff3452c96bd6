import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { deleteWorkspaceRules } from '../alerts/rules-store';
import { forgetWorkspaceKeys, newKey } from '../auth/keys';
import { forgetWorkspaceShares } from '../auth/shares';
import { deleteWorkspaceShares } from '../history/shares';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { apiKeys, drainLog, jobState, reportSchedules, userFirstSeen, workspaces } from '../history/schema';
import { archiveDeletionJob, eraseWorkspaceArchive } from '../archive/archive-jobs';
import { concurrencyRollups, participantSessions, rollups, roomSessions, userRollups } from '../history/schema-rollups';
import { jobName, loadRollupSince, nextRollupSince, saveRollupSinceStatement } from '../history/rollup-properties';
import { db, forgetWorkspace, toWorkspace, type WorkspaceRow } from '../history/workspaces';
import { LIMITS } from '../shared/limits';

/** The time a deleted workspace's request spends deleting archive objects in the background (the cron does the rest). */
const ARCHIVE_ERASE_BUDGET_MS = 20_000;
import { CreatedWorkspace, CreateWorkspaceInput, UpdateWorkspaceInput, Workspace } from '../shared/workspaces';
import { randomToken } from '../auth/secrets';
import { workspaceHub } from '../live/hubs';
import { authErrors, bearer, errorResponses, json, WsParams } from './openapi';

export const workspaceRoutes = new OpenAPIHono<AppEnv>();

const WorkspaceBody = z.object({ workspace: Workspace });

workspaceRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces', tags: ['Workspaces'], security: bearer,
    summary: 'Create a workspace (root token) with one key of each kind',
    middleware: [requireAccess('root')] as const,
    request: { body: { ...json(CreateWorkspaceInput, 'The new workspace'), required: true } },
    responses: { 201: json(CreatedWorkspace, 'Created; the keys are shown this once'), ...authErrors, ...errorResponses(409) },
  }),
  async (c) => {
    const input = c.req.valid('json');
    const d = db(c.env.DB);
    const row: WorkspaceRow = {
      id: `ws_${randomToken(16)}`,
      slug: input.slug,
      name: input.name ?? input.slug,
      timezone: input.timezone ?? 'UTC',
      retentionDays: input.retentionDays ?? LIMITS.defaultRetentionDays,
      allowedOrigins: [],
      rollupProperties: [],
      livekitApiKey: null,
      livekitApiSecret: null,
      webhookSecret: null,
      rateLimitEps: null,
      createdAt: Date.now(),
    };
    const keys = await Promise.all((['ingest', 'read', 'admin'] as const).map((k) => newKey(row.id, k, `default ${k}`)));
    try {
      await d.batch([d.insert(workspaces).values(row), d.insert(apiKeys).values(keys.map((k) => k.row))]);
    } catch (err) {
      if (/UNIQUE constraint failed: workspaces\.slug/.test(String((err as Error).message))) {
        throw new ApiError('conflict', `the slug "${input.slug}" is taken`);
      }
      throw err;
    }
    forgetWorkspace(row);
    return c.json({ workspace: toWorkspace(row), keys: { ingest: keys[0].secret, read: keys[1].secret, admin: keys[2].secret } }, 201);
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces', tags: ['Workspaces'], security: bearer,
    summary: 'List workspaces (root token)',
    middleware: [requireAccess('root')] as const,
    responses: { 200: json(z.object({ workspaces: z.array(Workspace) }), 'All workspaces'), ...authErrors },
  }),
  async (c) => {
    const rows = await db(c.env.DB).select().from(workspaces).orderBy(workspaces.createdAt);
    return c.json({ workspaces: rows.map(toWorkspace) }, 200);
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}', tags: ['Workspaces'], security: bearer,
    summary: 'A workspace’s settings (read key)',
    middleware: [requireAccess('people')] as const,
    request: { params: WsParams },
    responses: { 200: json(WorkspaceBody, 'The workspace'), ...authErrors },
  }),
  (c) => c.json({ workspace: toWorkspace(c.get('workspace')) }, 200),
);

workspaceRoutes.openapi(
  createRoute({
    method: 'patch', path: '/workspaces/{ws}', tags: ['Workspaces'], security: bearer,
    summary: 'Change settings (admin key); secrets are never echoed',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams, body: { ...json(UpdateWorkspaceInput, 'Fields to change'), required: true } },
    responses: { 200: json(WorkspaceBody, 'The updated workspace'), ...authErrors },
  }),
  async (c) => {
    const input = c.req.valid('json');
    const current = c.get('workspace');
    const changes: Partial<WorkspaceRow> = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.timezone !== undefined) changes.timezone = input.timezone;
    if (input.retentionDays !== undefined) changes.retentionDays = input.retentionDays;
    if (input.allowedOrigins !== undefined) changes.allowedOrigins = input.allowedOrigins;
    if (input.livekit !== undefined) {
      changes.livekitApiKey = input.livekit?.apiKey ?? null;
      changes.livekitApiSecret = input.livekit?.apiSecret ?? null;
    }
    if (input.webhookSecret !== undefined) changes.webhookSecret = input.webhookSecret;
    if (input.rateLimit !== undefined) changes.rateLimitEps = input.rateLimit?.eventsPerSecond ?? null;
    if (input.rollupProperties !== undefined) changes.rollupProperties = input.rollupProperties;
    const row = Object.keys(changes).length
      ? await db(c.env.DB).update(workspaces).set(changes).where(eq(workspaces.id, current.id)).returning().get()
      : current;
    if (input.rollupProperties !== undefined) {
      // After the list: a name without a since-time reads the archive, so a failure here never reads incomplete rollups.
      const now = Date.now();
      const since = nextRollupSince(await loadRollupSince(c.env.DB, current.id), input.rollupProperties, now);
      await saveRollupSinceStatement(c.env.DB, current.id, since, now).run();
    }
    forgetWorkspace(current);
    return c.json({ workspace: toWorkspace(row ?? current) }, 200);
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}', tags: ['Workspaces'], security: bearer,
    summary: 'Delete a workspace with its history and live state (root token)',
    middleware: [requireAccess('root')] as const,
    request: { params: WsParams },
    responses: { 204: { description: 'Deleted' }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    // The hub first, so that no drain writes history back after it is deleted.
    await workspaceHub(c.env, ws.id).destroy();
    const d = db(c.env.DB);
    const forgetKeys = await forgetWorkspaceKeys(d, ws.id);
    const forgetShares = await forgetWorkspaceShares(d, ws.id);
    await d.batch([
      d.delete(drainLog).where(eq(drainLog.workspaceId, ws.id)),
      d.delete(rollups).where(eq(rollups.workspaceId, ws.id)),
      d.delete(userRollups).where(eq(userRollups.workspaceId, ws.id)),
      d.delete(userFirstSeen).where(eq(userFirstSeen.workspaceId, ws.id)),
      d.delete(concurrencyRollups).where(eq(concurrencyRollups.workspaceId, ws.id)),
      d.delete(jobState).where(eq(jobState.name, jobName(ws.id))),
      d.delete(participantSessions).where(eq(participantSessions.workspaceId, ws.id)),
      d.delete(roomSessions).where(eq(roomSessions.workspaceId, ws.id)),
      d.delete(apiKeys).where(eq(apiKeys.workspaceId, ws.id)),
      deleteWorkspaceShares(d, ws.id),
      d.delete(reportSchedules).where(eq(reportSchedules.workspaceId, ws.id)),
      deleteWorkspaceRules(d, ws.id),
      d.delete(workspaces).where(eq(workspaces.id, ws.id)),
      // Its archive objects can be millions: deleted in the background, the cron continues from this marker.
      d.insert(jobState).values(archiveDeletionJob(ws.id)).onConflictDoNothing(),
    ]);
    forgetKeys();
    forgetShares();
    forgetWorkspace(ws);
    c.executionCtx.waitUntil(
      eraseWorkspaceArchive(c.env.ARCHIVE, c.env.DB, ws.id, Date.now() + ARCHIVE_ERASE_BUDGET_MS).catch((err) => console.warn('archive: workspace objects left for the cron', ws.id, err)),
    );
    return c.body(null, 204);
  },
);
