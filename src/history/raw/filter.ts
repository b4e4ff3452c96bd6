import type { ArchiveColumn, ArchiveRow } from '../../archive';
import { CONTEXT_COLUMNS } from '../../archive/columns';
import type { NormalizedEvent } from '../../ingest/types';
import type { ContextField, StoredEvent } from '../../shared/events';
import type { ReportFilters } from '../reports/plan';

/** Which raw events a question is about: one workspace, [from, to), the report filters, optionally errors only. */
export interface RawScope {
  workspaceId: string;
  from: number;
  to: number;
  filters: ReportFilters;
  errorsOnly?: boolean;
}

/** The archive column each built-in filter compares (the context dimensions have columns of their own). */
const FILTER_COLUMN = {
  type: 'type', room: 'room', userId: 'user_id',
  country: 'country', platform: 'platform', device: 'device', browser: 'browser', os: 'os',
} as const satisfies Record<Exclude<keyof ReportFilters, 'properties'>, ArchiveColumn>;

type FilterName = keyof typeof FILTER_COLUMN;
const FILTER_NAMES = Object.keys(FILTER_COLUMN) as FilterName[];

/** The columns a scope's filters read, to add to a question's projection. */
export function filterColumns(scope: RawScope): ArchiveColumn[] {
  const cols = new Set<ArchiveColumn>(['ts']);
  for (const name of FILTER_NAMES) if (scope.filters[name] !== undefined) cols.add(FILTER_COLUMN[name]);
  if (scope.filters.properties && Object.keys(scope.filters.properties).length) cols.add('properties');
  if (scope.errorsOnly) cols.add('error');
  return [...cols];
}

/** Own properties only: a filter on "constructor" must not find Object.prototype's. */
export function propertyOf(propertiesJson: string | null | undefined, name: string): string | null {
  if (!propertiesJson) return null;
  const props = JSON.parse(propertiesJson) as Record<string, unknown>;
  const v = Object.hasOwn(props, name) ? props[name] : undefined;
  return v === null || v === undefined ? null : String(v);
}

/** Whether a row (with at least `filterColumns(scope)`) is in the scope: in [from, to) and every filter equal. */
export function matchesScope(row: Partial<ArchiveRow>, scope: RawScope): boolean {
  const ts = row.ts!;
  if (ts < scope.from || ts >= scope.to) return false;
  for (const name of FILTER_NAMES) {
    const want = scope.filters[name];
    if (want !== undefined && row[FILTER_COLUMN[name]] !== want) return false;
  }
  if (scope.errorsOnly && (row.error === null || row.error === undefined)) return false;
  const props = scope.filters.properties;
  if (props) {
    let parsed: Record<string, unknown> | undefined;
    for (const [name, want] of Object.entries(props)) {
      parsed ??= row.properties ? (JSON.parse(row.properties) as Record<string, unknown>) : {};
      const v = Object.hasOwn(parsed, name) ? parsed[name] : undefined;
      if (v === null || v === undefined || String(v) !== want) return false;
    }
  }
  return true;
}

const OWN_CONTEXT = new Set<string>(Object.values(CONTEXT_COLUMNS));

/** An outbox event in the archive's row shape (as the drain will write it), so one code path reads both. */
export function eventToArchiveRow(e: NormalizedEvent): ArchiveRow {
  const rest: Partial<Record<ContextField, string>> = {};
  let anyRest = false;
  for (const [field, v] of Object.entries(e.context) as [ContextField, string | undefined][]) {
    if (v === undefined || OWN_CONTEXT.has(field)) continue;
    rest[field] = v;
    anyRest = true;
  }
  return {
    id: e.id, ts: e.ts, received_at: e.receivedAt, type: e.type, user_id: e.userId, session_id: e.sessionId, room: e.room,
    duration_ms: e.durationMs, bytes_in: e.bytesIn, bytes_out: e.bytesOut, error: e.error, value: e.value,
    country: e.context.country ?? null, platform: e.context.platform ?? null, os: e.context.os ?? null,
    browser: e.context.browser ?? null, device: e.context.device ?? null, connection_type: e.context.connectionType ?? null,
    properties: Object.keys(e.properties).length ? JSON.stringify(e.properties) : null,
    context: anyRest ? JSON.stringify(rest) : null,
    gauges: e.gauges === undefined ? null : JSON.stringify(e.gauges),
  };
}

/** The context object of a stored event: the rest-of-context JSON plus the context columns. */
function contextOf(row: ArchiveRow): Partial<Record<ContextField, string>> {
  const context = (row.context ? JSON.parse(row.context) : {}) as Partial<Record<ContextField, string>>;
  for (const [column, field] of Object.entries(CONTEXT_COLUMNS) as [keyof typeof CONTEXT_COLUMNS, ContextField][]) {
    const v = row[column];
    if (v !== null && v !== undefined) context[field] = v;
  }
  return context;
}

/** A full archive row as the API shows a stored event. */
export function toStoredEvent(r: ArchiveRow): StoredEvent {
  return {
    id: r.id, type: r.type, timestamp: new Date(r.ts).toISOString(), receivedAt: new Date(r.received_at).toISOString(),
    userId: r.user_id, sessionId: r.session_id, room: r.room, durationMs: r.duration_ms, bytesIn: r.bytes_in, bytesOut: r.bytes_out,
    error: r.error, value: r.value, properties: r.properties ? JSON.parse(r.properties) : {}, context: contextOf(r),
  };
}
