import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { destinationProblem } from '../alerts/destination';
import { countSchedules, deleteSchedule, findSchedule, listSchedules, newScheduleRow, toSchedule } from '../alerts/schedule-store';
import { DEFAULT_WEEKDAY, latestPeriod } from '../alerts/schedules';
import { sendReportNow } from '../alerts/send-reports';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { reportSchedules } from '../history/schema';
import { db, toRef } from '../history/workspaces';
import { workspaceHub } from '../live/hubs';
import { Delivery, Schedule, ScheduleCreated, ScheduleInput, SchedulePatch } from '../shared/alerts';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, errorResponses, json, WsParams } from './openapi';

export const scheduleRoutes = new OpenAPIHono<AppEnv>();

const IdParams = WsParams.extend({
  id: z.string().min(1).max(100).meta({ param: { name: 'id', in: 'path' }, description: 'The schedule’s id' }),
});

const unknown = (id: string) => new ApiError('not_found', `no schedule "${id}" in this workspace`);

function checkDestination(url: string | undefined, requestUrl: string): void {
  if (url === undefined) return;
  const problem = destinationProblem(url, requestUrl);
  if (problem) throw new ApiError('invalid_request', `destination.url: ${problem}`, [{ path: 'destination.url', message: problem }]);
}

const TIMING =
  'At the workspace’s local `hour` (its time zone, DST-aware: an hour a DST change skips is sent when the clock passes it), the report of the previous local day (`every: day`), ' +
  'or of the 7 local days before the schedule’s `weekday` (`every: week`, 0 = Sunday, default 1 = Monday), is POSTed to the destination: ' +
  '`{ "type": "report.scheduled", "timestamp", "data": { "workspace", "from", "to", "summary", "previous", "topTypes", "topRooms", "dashboardUrl" } }`, ' +
  'where `summary` is what `GET …/stats/summary?from=…&to=…` answers for the period, `previous` the same for the period before it, and `topTypes`/`topRooms` what `…/stats/breakdown?by=type|room` answers (the first ' +
  `${LIMITS.breakdownDefaultRows}). The cron (every 5 minutes) sends it from its first run at or after the hour, once per period even when it runs late or twice; ` +
  'a period whose hour passed before the schedule was created is skipped, and periods missed entirely (the cron stopped for longer than a period) are not sent late. ' +
  'Deliveries are signed per Standard Webhooks with the schedule’s secret (`format: slack`: Slack’s `{ text, blocks }`), and retried with backoff for 24 h under the same `webhook-id`.';

scheduleRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/schedules', tags: ['Alerts'], security: bearer,
    summary: 'Create a scheduled report (admin key)',
    description: `${TIMING} At most ${LIMITS.schedulesMax} schedules per workspace. The secret that signs its deliveries is shown this once.`,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams, body: { ...json(ScheduleInput, 'The schedule'), required: true } },
    responses: { 201: json(ScheduleCreated, 'Created; the secret is shown this once'), ...authErrors, ...errorResponses(409) },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const input = c.req.valid('json');
    checkDestination(input.destination.url, c.req.url);
    if (input.every === 'day' && input.weekday !== undefined) throw new ApiError('invalid_request', 'weekday: only for every: week', [{ path: 'weekday', message: 'only for every: week' }]);
    const d = db(c.env.DB);
    if ((await countSchedules(d, ws.id)) >= LIMITS.schedulesMax) throw new ApiError('conflict', `a workspace has at most ${LIMITS.schedulesMax} schedules; delete one first`);
    const row = newScheduleRow(ws.id, input, new URL(c.req.url).origin, Date.now());
    await d.insert(reportSchedules).values(row).run();
    return c.json({ schedule: toSchedule(row), secret: row.secret }, 201);
  },
);

scheduleRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/schedules', tags: ['Alerts'], security: bearer,
    summary: 'The scheduled reports (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(z.object({ schedules: z.array(Schedule) }), 'The schedules, the newest first'), ...authErrors },
  }),
  async (c) => c.json({ schedules: (await listSchedules(db(c.env.DB), c.get('workspace').id)).map(toSchedule) }, 200),
);

scheduleRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/schedules/{id}', tags: ['Alerts'], security: bearer,
    summary: 'One scheduled report (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 200: json(z.object({ schedule: Schedule }), 'The schedule'), ...authErrors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const row = await findSchedule(db(c.env.DB), c.get('workspace').id, id);
    if (!row) throw unknown(id);
    return c.json({ schedule: toSchedule(row) }, 200);
  },
);

scheduleRoutes.openapi(
  createRoute({
    method: 'patch', path: '/workspaces/{ws}/schedules/{id}', tags: ['Alerts'], security: bearer,
    summary: 'Change a scheduled report (admin key)',
    description: 'Any field of the schedule; the secret stays. Periods already sent stay sent. A changed `every`, `hour` or `weekday` counts from the change: the period whose new due moment has already passed counts as done (it is not sent late), the next one goes out at its new time.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams, body: { ...json(SchedulePatch, 'The fields to change'), required: true } },
    responses: { 200: json(z.object({ schedule: Schedule }), 'The schedule'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    checkDestination(patch.destination?.url, c.req.url);
    const d = db(c.env.DB);
    const row = await findSchedule(d, ws.id, id);
    if (!row) throw unknown(id);
    const every = patch.every ?? row.every;
    if (every === 'day' && patch.weekday !== undefined) throw new ApiError('invalid_request', 'weekday: only for every: week', [{ path: 'weekday', message: 'only for every: week' }]);
    const next = {
      name: patch.name ?? row.name,
      every,
      hour: patch.hour ?? row.hour,
      weekday: every === 'week' ? (patch.weekday ?? row.weekday ?? DEFAULT_WEEKDAY) : null,
      destinationUrl: patch.destination?.url ?? row.destinationUrl,
      destinationFormat: patch.destination?.format ?? row.destinationFormat,
      enabled: patch.enabled ?? row.enabled,
      origin: new URL(c.req.url).origin,
      lastPeriodStart: row.lastPeriodStart,
    };
    if (patch.every !== undefined || patch.hour !== undefined || patch.weekday !== undefined) {
      // A new timing counts from now: a period whose new due moment already passed is not sent late.
      const passed = latestPeriod(next, ws.timezone, Date.now()).from;
      next.lastPeriodStart = Math.max(row.lastPeriodStart ?? passed, passed);
    }
    await d.update(reportSchedules).set(next).where(eq(reportSchedules.id, row.id)).run();
    return c.json({ schedule: toSchedule({ ...row, ...next }) }, 200);
  },
);

scheduleRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/schedules/{id}', tags: ['Alerts'], security: bearer,
    summary: 'Delete a scheduled report (admin key)',
    description: 'Its pending deliveries are not attempted again, and its delivery log goes with it.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 204: { description: 'Deleted' }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    if (!(await deleteSchedule(db(c.env.DB), ws.id, id))) throw unknown(id);
    await workspaceHub(c.env, ws.id).forgetDeliveries(toRef(ws), id);
    return c.body(null, 204);
  },
);

scheduleRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/schedules/{id}/send', tags: ['Alerts'], security: bearer,
    summary: 'Send the report of the last complete period now (admin key)',
    description:
      'Queues the report of the last complete local day (`every: day`) or of the 7 local days before the latest `weekday` (`every: week`), whatever the hour, under a `webhook-id` of its own ' +
      '(the cron still sends its periods at their hour). Answers once it is queued; `GET …/schedules/{id}/deliveries` shows its attempts. Works on a disabled schedule too.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 202: json(z.object({ delivery: z.object({ id: z.string().meta({ description: 'the `webhook-id`' }) }) }), 'Queued'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    const row = await findSchedule(db(c.env.DB), ws.id, id);
    if (!row) throw unknown(id);
    return c.json({ delivery: { id: await sendReportNow(c.env, ws, row) } }, 202);
  },
);

scheduleRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/schedules/{id}/deliveries', tags: ['Alerts'], security: bearer,
    summary: 'The schedule’s recent deliveries (admin key)',
    description: `The last ${LIMITS.deliveriesListed}, the newest first: each with its attempts so far (retried with backoff for 24 h), the last answer’s HTTP status and error.`,
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 200: json(z.object({ deliveries: z.array(Delivery) }), 'The deliveries'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    if (!(await findSchedule(db(c.env.DB), ws.id, id))) throw unknown(id);
    return c.json({ deliveries: await workspaceHub(c.env, ws.id).listDeliveries(toRef(ws), id) }, 200);
  },
);
