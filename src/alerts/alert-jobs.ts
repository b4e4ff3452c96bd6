import type { AlertEventData, Destination, DeliveryType } from '../shared/alerts';
import { dashboardOrigin } from './destination';
import type { DeliveryJob } from './delivery-job';
import type { RuleCondition } from './evaluate';
import type { AlertRuleRow } from './rules-store';

/** A rule as the hub keeps it: the definition, its secret, and the state D1 last had (the hub's own state wins once it has one). */
export interface HubRule extends RuleCondition {
  id: string;
  name: string;
  destination: Destination;
  secret: string;
  enabled: boolean;
  origin: string | null;
  state: 'ok' | 'firing';
  since: number | null;
  value: number | null;
}

export function toHubRule(row: AlertRuleRow): HubRule {
  return {
    id: row.id,
    name: row.name,
    metric: row.metric as HubRule['metric'],
    filter: row.filter ?? {},
    op: row.op,
    threshold: row.threshold,
    windowMinutes: row.windowMinutes,
    forMinutes: row.forMinutes,
    destination: { url: row.destinationUrl, format: row.destinationFormat },
    secret: row.secret,
    enabled: row.enabled,
    origin: row.origin,
    state: row.state,
    since: row.since,
    value: row.value,
  };
}

/** The `data` of an alert delivery (API.md); the link opens the workspace's live view. */
export function alertData(rule: HubRule, slug: string, value: number | null, since: number | null, publicUrl: string | undefined): AlertEventData {
  return {
    alertId: rule.id,
    name: rule.name,
    workspace: slug,
    metric: rule.metric,
    value,
    op: rule.op,
    threshold: rule.threshold,
    since: since === null ? null : new Date(since).toISOString(),
    dashboardUrl: `${dashboardOrigin(publicUrl, rule.origin)}/w/${encodeURIComponent(slug)}`,
  };
}

/** One delivery of a rule: `id` is its `webhook-id`, fixed when the transition (or test) happens. */
export function alertJob(rule: HubRule, id: string, type: DeliveryType, at: number, data: AlertEventData): DeliveryJob {
  return {
    id,
    ownerId: rule.id,
    type,
    destination: rule.destination,
    secret: rule.secret,
    payload: { type, timestamp: new Date(at).toISOString(), data: { ...data } },
  };
}

/** A transition's `webhook-id`: the rule and the transition's number, so a retry or a replay keeps it. */
export const transitionId = (ruleId: string, seq: number) => `msg_${ruleId}_${seq}`;
