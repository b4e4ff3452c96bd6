import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { alertData, alertJob, toHubRule } from '../alerts/alert-jobs';
import { ruleIssues } from '../alerts/rule-checks';
import { countRules, deleteRule, getRule, insertRule, listRules, toAlert, toInput, updateRule } from '../alerts/rules-store';
import { randomToken } from '../auth/secrets';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { db, toRef, type WorkspaceRow } from '../history/workspaces';
import { zodIssues } from '../ingest/parse';
import { workspaceHub } from '../live/hubs';
import { Alert, AlertCreated, AlertInput, AlertPatch, Delivery } from '../shared/alerts';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, errorResponses, json, WsParams } from './openapi';

export const alertRoutes = new OpenAPIHono<AppEnv>();

const MIN = 60_000;

/** How rules are evaluated: the routes' descriptions say it once. */
const EVALUATION =
  'A rule is evaluated by the workspace’s hub on its live numbers: right after accepted events (at most once a second) and every ' +
  `${LIMITS.alertEvaluateEveryMs / 1000} s from its alarm while any rule is enabled, so a drop to zero fires without any event. ` +
  '`eventsPerSecond`, `events`, `errors`, `errorRate`, `latencyP95`, `latencyP99` and `gauge` are taken over the last `windowMinutes` of events ' +
  'matching `filter.type`/`filter.room` (in 10-second steps, the oldest counted by the share of it still inside the window; percentiles by minute): `eventsPerSecond` = events / window seconds; ' +
  '`errorRate` = errors / events (0 without events); latency percentiles of `durationMs` (DDSketch, within 1%); `gauge` = the mean of the samples of `filter.gauge`. ' +
  'A latency or gauge rule without samples in its window has no value, and its condition does not hold; a new `<` rule on a count (`events`, `errors`, `eventsPerSecond`; or one whose filter changed) ' +
  'starts judging once it has watched a whole window, so that it does not fire on a past it never saw. ' +
  '`onlineUsers` is the live number now (users with an event in the last 5 minutes; with `filter.room`, that room’s participants); ' +
  '`roomParticipants` is `filter.room`’s participants now, or the fullest room’s. ' +
  'A rule fires when its condition has held for `forMinutes` (0: at the first evaluation that sees it), and resolves at the first evaluation where it no longer holds ' +
  '(within 15 s either way). No flapping: after a resolve, the rule fires again only ' +
  `${LIMITS.alertRefireAfterMs / MIN} minutes later at the earliest, so a value hovering around the threshold gives one firing and one resolve, not a storm. ` +
  'Disabling a firing rule resolves it. Each transition is one delivery (`alert.firing` / `alert.resolved`) under a `webhook-id` fixed when it happens, ' +
  'signed per Standard Webhooks with the rule’s secret (or Slack’s body), retried with backoff for 24 h.';

const IdParams = WsParams.extend({
  id: z.string().min(1).max(100).meta({ param: { name: 'id', in: 'path' }, description: 'The rule’s id (`alr_…`)' }),
});

const unknown = (id: string) => new ApiError('not_found', `no alert rule "${id}" in this workspace`);

function refuse(issues: { path: string; message: string }[]): never {
  throw new ApiError('invalid_request', `${issues[0].path}: ${issues[0].message}`, issues);
}

/** The hub evaluates what D1 holds: told after every change, with the secrets it signs with. */
async function tellHub(c: Context<AppEnv>, ws: WorkspaceRow): Promise<void> {
  const rules = await listRules(db(c.env.DB), ws.id);
  await workspaceHub(c.env, ws.id).setAlertRules(toRef(ws), rules.map(toHubRule));
}

const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

alertRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/alerts', tags: ['Alerts'], security: bearer,
    summary: 'Create an alert rule (admin key); its signing secret is shown this once',
    description: `${EVALUATION} At most ${LIMITS.alertRulesMax} rules per workspace (409 beyond). A \`gauge\` rule needs \`filter.gauge\`; \`destination.url\` must be \`https:\` (plain \`http:\` only to localhost while running locally).`,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams, body: { ...json(AlertInput, 'The rule'), required: true } },
    responses: { 201: json(AlertCreated, 'Created, state `ok`'), ...authErrors, ...errorResponses(409) },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const input = c.req.valid('json');
    const issues = ruleIssues(input, c.req.url);
    if (issues.length) refuse(issues);
    const d = db(c.env.DB);
    if ((await countRules(d, ws.id)) >= LIMITS.alertRulesMax) {
      throw new ApiError('conflict', `this workspace has ${LIMITS.alertRulesMax} alert rules, the most it may have: delete one first`);
    }
    const row = await insertRule(d, ws.id, input, origin(c));
    await tellHub(c, ws);
    return c.json({ alert: toAlert(row), secret: row.secret }, 201);
  },
);

alertRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/alerts', tags: ['Alerts'], security: bearer,
    summary: 'List the alert rules with their state (admin key)',
    description: EVALUATION,
    middleware: [requireAccess('admin')] as const,
    request: { params: WsParams },
    responses: { 200: json(z.object({ alerts: z.array(Alert) }), 'The rules, oldest first'), ...authErrors },
  }),
  async (c) => c.json({ alerts: (await listRules(db(c.env.DB), c.get('workspace').id)).map(toAlert) }, 200),
);

alertRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/alerts/{id}', tags: ['Alerts'], security: bearer,
    summary: 'One alert rule with its state (admin key)',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 200: json(z.object({ alert: Alert }), 'The rule'), ...authErrors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const row = await getRule(db(c.env.DB), c.get('workspace').id, id);
    if (!row) throw unknown(id);
    return c.json({ alert: toAlert(row) }, 200);
  },
);

alertRoutes.openapi(
  createRoute({
    method: 'patch', path: '/workspaces/{ws}/alerts/{id}', tags: ['Alerts'], security: bearer,
    summary: 'Change an alert rule (admin key)',
    description:
      'Any field of the rule; `filter` and `destination` are replaced whole. The merged rule is validated like a new one. ' +
      'A change of the condition (metric, filter, op, threshold, window or for) restarts the time it has held; the state (`ok`/`firing`) stays until the next evaluation. ' +
      '`enabled: false` stops evaluation (a firing rule resolves). The secret does not change.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams, body: { ...json(AlertPatch, 'The fields to change'), required: true } },
    responses: { 200: json(z.object({ alert: Alert }), 'The rule as changed'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const d = db(c.env.DB);
    const row = await getRule(d, ws.id, id);
    if (!row) throw unknown(id);
    const merged = AlertInput.safeParse({ ...toInput(row), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) });
    if (!merged.success) refuse(zodIssues(merged.error));
    const issues = ruleIssues(merged.data, c.req.url);
    if (issues.length) refuse(issues);
    const updated = await updateRule(d, ws.id, id, merged.data, origin(c));
    if (!updated) throw unknown(id);
    await tellHub(c, ws);
    return c.json({ alert: toAlert(updated) }, 200);
  },
);

alertRoutes.openapi(
  createRoute({
    method: 'delete', path: '/workspaces/{ws}/alerts/{id}', tags: ['Alerts'], security: bearer,
    summary: 'Delete an alert rule and its delivery log (admin key)',
    description: 'Deliveries of the rule not yet made are dropped; a firing rule sends no `alert.resolved`.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 204: { description: 'Deleted' }, ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    if (!(await deleteRule(db(c.env.DB), ws.id, id))) throw unknown(id);
    await tellHub(c, ws);
    await workspaceHub(c.env, ws.id).forgetDeliveries(toRef(ws), id);
    return c.body(null, 204);
  },
);

alertRoutes.openapi(
  createRoute({
    method: 'post', path: '/workspaces/{ws}/alerts/{id}/test', tags: ['Alerts'], security: bearer,
    summary: 'Send an `alert.test` delivery of the rule now (admin key)',
    description: 'Signed and retried like a transition; its outcome is in `…/deliveries`. The data carries the rule’s current state and value.',
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 202: json(z.object({ delivery: z.object({ id: z.string().meta({ description: 'its `webhook-id`' }) }) }), 'Queued'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    const row = await getRule(db(c.env.DB), ws.id, id);
    if (!row) throw unknown(id);
    const rule = toHubRule(row);
    const now = Date.now();
    const job = alertJob(rule, `msg_${rule.id}_test_${randomToken(12)}`, 'alert.test', now, alertData(rule, ws.slug, row.value, row.since, c.env.PUBLIC_URL));
    await workspaceHub(c.env, ws.id).enqueueDeliveries(toRef(ws), [job]);
    return c.json({ delivery: { id: job.id } }, 202);
  },
);

alertRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/alerts/{id}/deliveries', tags: ['Alerts'], security: bearer,
    summary: `The rule’s last ${LIMITS.deliveriesListed} deliveries, newest first (admin key)`,
    middleware: [requireAccess('admin')] as const,
    request: { params: IdParams },
    responses: { 200: json(z.object({ deliveries: z.array(Delivery) }), 'Deliveries'), ...authErrors },
  }),
  async (c) => {
    const ws = c.get('workspace');
    const { id } = c.req.valid('param');
    if (!(await getRule(db(c.env.DB), ws.id, id))) throw unknown(id);
    return c.json({ deliveries: await workspaceHub(c.env, ws.id).listDeliveries(toRef(ws), id) }, 200);
  },
);
