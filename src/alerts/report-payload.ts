import type { RawSource } from '../history/raw/source';
import type { ReportQuery } from '../history/reports/plan';
import { breakdown, summary } from '../history/reports/stats';
import type { WorkspaceRow } from '../history/workspaces';
import type { BreakdownRow, Summary } from '../shared/reports';
import { LIMITS } from '../shared/limits';
import type { z } from 'zod';
import { previousPeriod } from './schedules';

/** The data of a `report.scheduled` delivery (API.md). */
export interface ReportData extends Record<string, unknown> {
  workspace: string;
  from: string;
  to: string;
  summary: Summary;
  /** The period before, of the same length: the comparison. */
  previous: Summary & { from: string; to: string };
  topTypes: z.infer<typeof BreakdownRow>[];
  topRooms: z.infer<typeof BreakdownRow>[];
  dashboardUrl: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The query `GET …/stats/summary?from=…&to=…` makes for the workspace, with no filter. */
function rangeQuery(ws: WorkspaceRow, from: number, to: number, now: number): ReportQuery {
  return { workspaceId: ws.id, tz: ws.timezone, from, to, filters: {}, now, rollupProperties: ws.rollupProperties ?? [] };
}

/** The dashboard's reports view of the range (dashboard/src/report-query.ts reads range=custom&from&to). */
export function reportUrl(origin: string, slug: string, from: number, to: number): string {
  const q = new URLSearchParams({ range: 'custom', from: iso(from), to: iso(to) });
  return `${origin}/w/${encodeURIComponent(slug)}/reports?${q}`;
}

/**
 * A scheduled report's numbers, computed by the code behind `GET …/stats/summary` and
 * `…/stats/breakdown?by=type|room` for [from, to), and the summary of the period before it.
 */
export async function reportData(
  d1: D1Database,
  src: RawSource,
  ws: WorkspaceRow,
  period: { from: number; to: number; every: 'day' | 'week' },
  origin: string,
  now: number = Date.now(),
): Promise<ReportData> {
  const q = rangeQuery(ws, period.from, period.to, now);
  const prev = previousPeriod(period, period.every, ws.timezone);
  const limit = LIMITS.breakdownDefaultRows;
  const [current, previous, types, rooms] = await Promise.all([
    summary(d1, src, q),
    summary(d1, src, rangeQuery(ws, prev.from, prev.to, now)),
    breakdown(d1, src, q, { kind: 'type' }, 'type', limit),
    breakdown(d1, src, q, { kind: 'dim', dim: 'room' }, 'room', limit),
  ]);
  return {
    workspace: ws.slug,
    from: iso(period.from),
    to: iso(period.to),
    summary: current,
    previous: { ...previous, from: iso(prev.from), to: iso(prev.to) },
    topTypes: types.rows,
    topRooms: rooms.rows,
    dashboardUrl: reportUrl(origin, ws.slug, period.from, period.to),
  };
}
