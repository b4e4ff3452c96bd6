import { BREAKDOWN_DIMENSIONS, FILTERS, GRANULARITIES, RANGES as API_RANGES, type BreakdownDimension, type FilterName, type Granularity } from '../../src/shared/report-params';

export { FILTERS, GRANULARITIES, type FilterName };
/** The API's ranges, plus the dashboard's own from/to picker. */
export const RANGES = [...API_RANGES, 'custom'] as const;
export type RangeName = (typeof RANGES)[number];
export const DIMENSIONS = BREAKDOWN_DIMENSIONS;
export type Dimension = BreakdownDimension;

export const RANGE_LABEL: Record<RangeName, string> = {
  today: 'Today',
  yesterday: 'Yesterday',
  '24h': '24 hours',
  '7d': '7 days',
  '30d': '30 days',
  '90d': '90 days',
  custom: 'Custom',
};
export const DIMENSION_LABEL: Record<Dimension, string> = {
  type: 'Event type',
  room: 'Room',
  userId: 'User',
  country: 'Country',
  platform: 'Platform',
  device: 'Device',
  browser: 'Browser',
  os: 'OS',
  error: 'Error',
  connectionType: 'Connection',
};

/** Everything a report view shows, as held in the page's query string. */
export interface ReportQuery {
  range: RangeName;
  from?: string;
  to?: string;
  granularity: Granularity;
  by: Dimension;
  filters: Partial<Record<FilterName, string>>;
}

function defaultGranularity(range: RangeName, from?: string, to?: string): Granularity {
  if (range === 'today' || range === 'yesterday' || range === '24h') return 'hour';
  if (range === 'custom' && from && to) {
    const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
    return days <= 2 ? 'hour' : days <= 120 ? 'day' : 'week';
  }
  return 'day';
}

export function parseQuery(search: URLSearchParams): ReportQuery {
  const range = (RANGES as readonly string[]).includes(search.get('range') ?? '') ? (search.get('range') as RangeName) : '7d';
  const from = search.get('from') ?? undefined;
  const to = search.get('to') ?? undefined;
  const g = search.get('granularity') as Granularity | null;
  const by = search.get('by') as Dimension | null;
  const filters: ReportQuery['filters'] = {};
  for (const f of FILTERS) {
    const v = search.get(f);
    if (v) filters[f] = v;
  }
  return {
    range: range === 'custom' && !(from && to) ? '7d' : range,
    from,
    to,
    granularity: g && GRANULARITIES.includes(g) ? g : defaultGranularity(range, from, to),
    by: by && (DIMENSIONS as readonly string[]).includes(by) ? by : 'type',
    filters,
  };
}

/** The page's query string (what a shared link holds). */
export function toSearch(q: ReportQuery, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  p.set('range', q.range);
  if (q.range === 'custom' && q.from && q.to) {
    p.set('from', q.from);
    p.set('to', q.to);
  }
  p.set('granularity', q.granularity);
  if (q.by !== 'type') p.set('by', q.by);
  for (const [k, v] of Object.entries(q.filters)) if (v) p.set(k, v);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return `?${p}`;
}

/** The API's range and filter parameters for this view. */
export function apiParams(q: ReportQuery): Record<string, string> {
  const p: Record<string, string> = {};
  if (q.range === 'custom' && q.from && q.to) {
    p.from = q.from;
    p.to = q.to;
  } else p.range = q.range === 'custom' ? '7d' : q.range;
  for (const [k, v] of Object.entries(q.filters)) if (v) p[k] = v;
  return p;
}

export const withChange = (q: ReportQuery, change: Partial<ReportQuery>): ReportQuery => {
  const next = { ...q, ...change };
  if (change.range && !change.granularity) next.granularity = defaultGranularity(next.range, next.from, next.to);
  return next;
};
