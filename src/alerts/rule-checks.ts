import type { AlertInput } from '../shared/alerts';
import type { ErrorIssue } from '../shared/errors';
import { destinationProblem } from './destination';

/** Metrics that read the live presence now, not events in a window. */
const PRESENCE_METRICS = new Set<AlertInput['metric']>(['onlineUsers', 'roomParticipants']);

/** What the schema cannot say about a whole rule: its filter fits its metric, its destination may receive. */
export function ruleIssues(input: AlertInput, requestUrl: string): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const filter = input.filter ?? {};
  if (input.metric === 'gauge' && !filter.gauge) issues.push({ path: 'filter.gauge', message: 'required for metric "gauge": the gauge the rule watches' });
  if (input.metric !== 'gauge' && filter.gauge) issues.push({ path: 'filter.gauge', message: `only a "gauge" rule reads a gauge (metric is "${input.metric}")` });
  if (PRESENCE_METRICS.has(input.metric) && filter.type) issues.push({ path: 'filter.type', message: `"${input.metric}" counts present users, not events: use filter.room or no filter` });
  const problem = destinationProblem(input.destination.url, requestUrl);
  if (problem) issues.push({ path: 'destination.url', message: problem });
  return issues;
}
