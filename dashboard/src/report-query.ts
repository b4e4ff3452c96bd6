import { LIMITS } from '../../src/shared/limits';
import { BREAKDOWN_DIMENSIONS, FILTERS, GRANULARITIES, RANGES as API_RANGES, type BreakdownDimension, type FilterName, type Granularity } from '../../src/shared/report-params';

export { FILTERS, GRANULARITIES, type FilterName };
/** The API's ranges, plus the dashboard's own from/to picker. */
export const RANGES = [...API_RANGES, 'custom'] as const;
export type RangeName = (typeof RANGES)[number];
export const DIMENSIONS = BREAKDOWN_DIMENSIONS;
export type Dimension = BreakdownDimension;
/** A breakdown: a built-in dimension or `property:NAME`. */
export type BreakdownBy = Dimension | `property:${string}`;
/** The query-string prefix of a property filter (`property.plan=pro`), the same in the page and the API. */
export const PROPERTY_PREFIX = 'property.';
const BY_PROPERTY = 'property:';

export const propertyOf = (by: BreakdownBy): string | null => (by.startsWith(BY_PROPERTY) ? by.slice(BY_PROPERTY.length) : null);
export const byProperty = (name: string): BreakdownBy => `${BY_PROPERTY}${name}`;
export const validPropertyName = (name: string) => name.length > 0 && name.length <= LIMITS.propertyNameMaxLength;

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
  by: BreakdownBy;
  filters: Partial<Record<FilterName, string>>;
  /** `property.NAME=value` filters, ANDed, in the order they were added. */
  properties: Record<string, string>;
  /** Also show the range of equal length just before (`compare=previous`). */
  compare: boolean;
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
  const by = search.get('by');
  const filters: ReportQuery['filters'] = {};
  for (const f of FILTERS) {
    const v = search.get(f);
    if (v) filters[f] = v;
  }
  const properties: Record<string, string> = {};
  for (const [k, v] of search) {
    const name = k.slice(PROPERTY_PREFIX.length);
    if (k.startsWith(PROPERTY_PREFIX) && validPropertyName(name) && v && Object.keys(properties).length < LIMITS.propertyFiltersMax) properties[name] = v;
  }
  const byName = by && by.startsWith(BY_PROPERTY) ? by.slice(BY_PROPERTY.length) : null;
  return {
    range: range === 'custom' && !(from && to) ? '7d' : range,
    from,
    to,
    granularity: g && GRANULARITIES.includes(g) ? g : defaultGranularity(range, from, to),
    by: byName !== null ? (validPropertyName(byName) ? byProperty(byName) : 'type') : by && (DIMENSIONS as readonly string[]).includes(by) ? (by as Dimension) : 'type',
    filters,
    properties,
    compare: search.get('compare') === 'previous',
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
  for (const [k, v] of Object.entries(q.properties)) p.set(`${PROPERTY_PREFIX}${k}`, v);
  if (q.compare) p.set('compare', 'previous');
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return `?${p}`;
}

/** The API's range and filter parameters for this view (every report, the event log and export take them). */
export function apiParams(q: ReportQuery): Record<string, string> {
  const p: Record<string, string> = {};
  if (q.range === 'custom' && q.from && q.to) {
    p.from = q.from;
    p.to = q.to;
  } else p.range = q.range === 'custom' ? '7d' : q.range;
  for (const [k, v] of Object.entries(q.filters)) if (v) p[k] = v;
  for (const [k, v] of Object.entries(q.properties)) p[`${PROPERTY_PREFIX}${k}`] = v;
  return p;
}

/** `compare=previous`, which only summary and timeseries take (other routes answer 400 to it). */
export const compareParams = (q: ReportQuery): Record<string, string> => (q.compare ? { compare: 'previous' } : {});

/** True when the view narrows events by any filter (built-in or property). */
export const isFiltered = (q: ReportQuery) => Object.values(q.filters).some(Boolean) || Object.keys(q.properties).length > 0;

/** What a share link may show: no user ids, so no userId filter or breakdown (the API refuses them to a share). */
export function withoutPeople(q: ReportQuery): ReportQuery {
  if (!q.filters.userId && q.by !== 'userId') return q;
  const filters = { ...q.filters };
  delete filters.userId;
  return { ...q, filters, by: q.by === 'userId' ? 'type' : q.by };
}

export const withChange = (q: ReportQuery, change: Partial<ReportQuery>): ReportQuery => {
  const next = { ...q, ...change };
  if (change.range && !change.granularity) next.granularity = defaultGranularity(next.range, next.from, next.to);
  return next;
};
