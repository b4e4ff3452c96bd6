/**
 * The vocabulary of report queries (API.md, "History and reports"): plain constants without zod,
 * so that the dashboard can import them without bundling a schema library.
 */

export const RANGES = ['today', 'yesterday', '24h', '7d', '30d', '90d'] as const;
export type RangeName = (typeof RANGES)[number];

export const GRANULARITIES = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** The filters every report takes. */
export const FILTERS = ['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os'] as const;
export type FilterName = (typeof FILTERS)[number];

/** What a breakdown groups by, besides `property:NAME`. */
export const BREAKDOWN_DIMENSIONS = [...FILTERS, 'error', 'connectionType'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];
