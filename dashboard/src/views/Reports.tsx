import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { Breakdown, Summary, Timeseries, Workspace } from '../api-types';
import { BreakdownTable, breakdownLabel } from '../components/BreakdownTable';
import { Chart, type ChartSeries } from '../components/Chart';
import { CohortTable } from '../components/CohortTable';
import { GaugeReport } from '../components/GaugeReport';
import { FilterBar, RangeBar } from '../components/ReportControls';
import { SummaryCards } from '../components/SummaryCards';
import { ErrorNote, FirstEvent, Loading, Panel } from '../components/Ui';
import { dateTime } from '../format';
import {
  apiParams, byProperty, compareParams, DIMENSION_LABEL, DIMENSIONS, isFiltered, parseQuery, propertyOf, toSearch, validPropertyName, withoutPeople, type BreakdownBy, type ReportQuery,
} from '../report-query';
import { location, navigate, query, type Route } from '../router';
import { isShared } from '../share';
/** Loads a JSON resource whenever its path changes; the latest request wins. */
export function useApi<T>(path: string | null): { data: T | null; error: unknown } {
  const [state, setState] = useState<{ data: T | null; error: unknown; path: string | null }>({ data: null, error: null, path: null });
  useEffect(() => {
    if (!path) return;
    let live = true;
    get<T>(path).then(
      (data) => live && setState({ data, error: null, path }),
      (error) => live && setState({ data: null, error, path }),
    );
    return () => {
      live = false;
    };
  }, [path]);
  return state.path === path ? state : { data: state.data, error: null };
}

/** A metric of a time series point (the point's other field is its time). */
export const metric = (p: Timeseries['points'][number], name: string): number | null => {
  const v = p[name];
  return typeof v === 'number' ? v : null;
};

type Point = Timeseries['points'][number];

interface MetricLine {
  metric: string;
  label: string;
  color: string;
  bars?: boolean;
  /** A count of people: drawn against the right axis, so 80 users are not flat beside 18,000 events. */
  people?: boolean;
  /** The range's total from the summary (distinct counts do not add up over buckets); absent: the sum of the buckets. */
  total?: (s: Omit<Summary, 'previous' | 'previousRange'>) => number;
}

const LINES: MetricLine[] = [
  { metric: 'events', label: 'events', color: '--accent', bars: true },
  { metric: 'users', label: 'users', color: '--accent-2', people: true, total: (s) => s.users },
  { metric: 'errors', label: 'errors', color: '--bad' },
  { metric: 'newUsers', label: 'new users', color: '--good', people: true },
];

const sum = (values: Array<number | null>) => values.reduce<number>((a, v) => a + (v ?? 0), 0);

/** One metric over the buckets, with its legend total; `summary` undefined while it loads. */
function line(m: MetricLine, points: Point[], summary: Omit<Summary, 'previous' | 'previousRange'> | undefined, previous = false): ChartSeries {
  const values = points.map((p) => metric(p, m.metric));
  return {
    label: previous ? `${m.label} (previous)` : m.label,
    values,
    color: m.color,
    bars: m.bars && !previous,
    right: m.people,
    dashed: previous,
    total: m.total ? (summary ? m.total(summary) : null) : sum(values),
  };
}

function SeriesChart({ ts, summary }: { ts: Timeseries; summary: Summary | null }) {
  const x = useMemo(() => ts.points.map((p) => Date.parse(p.t) / 1000), [ts]);
  const series = useMemo(() => {
    // Only asked for without filters: new users are of the whole workspace.
    const shown = LINES.filter((m) => m.metric !== 'newUsers' || ts.points.some((p) => 'newUsers' in p));
    const current = shown.map((m) => line(m, ts.points, summary ?? undefined));
    if (!ts.previous) return current;
    // Aligned by offset: the previous period's i-th bucket is drawn at this period's i-th time.
    const prev = ts.points.map((_, i) => ts.previous!.points[i] ?? { t: '' });
    return [...current, ...shown.map((m) => line(m, prev, summary?.previous, true))];
  }, [ts, summary]);
  const what = `Events, users, errors${series.some((s) => s.label === 'new users') ? ' and new users' : ''} per ${ts.granularity}${ts.previous ? ', the previous period dashed' : ''}`;
  return <Chart x={x} series={series} height={240} label={what} />;
}

/** Breakdown tabs: the built-in dimensions, then properties (rolled up, filtered on, or typed in). */
function BreakdownTabs({ q, set, propertyNames }: { q: ReportQuery; set: (q: ReportQuery) => void; propertyNames: string[] }) {
  const [typed, setTyped] = useState('');
  const dims = DIMENSIONS.filter((d) => d !== 'error' && (d !== 'userId' || !isShared()));
  const current = propertyOf(q.by);
  const properties = [...new Set([...propertyNames, ...Object.keys(q.properties), ...(current === null ? [] : [current])])];
  const tab = (by: BreakdownBy, label: string) => (
    <button type="button" key={by} aria-pressed={q.by === by} onClick={() => set({ ...q, by })}>
      {label}
    </button>
  );
  return (
    <div class="tabs" role="group" aria-label="Break down by">
      {dims.map((d) => tab(d, DIMENSION_LABEL[d]))}
      {properties.map((p) => tab(byProperty(p), `property: ${p}`))}
      <form
        class="row"
        style={{ gap: '4px' }}
        onSubmit={(e) => {
          e.preventDefault();
          const name = typed.trim();
          if (!validPropertyName(name)) return;
          set({ ...q, by: byProperty(name) });
          setTyped('');
        }}
      >
        <input aria-label="Break down by property" placeholder="property…" list="breakdown-property-names" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} style={{ width: '110px', fontSize: '12px' }} />
        <datalist id="breakdown-property-names">
          {propertyNames.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
      </form>
    </div>
  );
}

export default function Reports({ route }: { route: Route }) {
  const ws = (route as { ws: string }).ws;
  const shared = isShared();
  // A share link is refused user ids: a shared URL carrying a userId filter or breakdown drops it.
  const q = shared ? withoutPeople(parseQuery(query.value)) : parseQuery(query.value);
  // The current path (a workspace's /w/… or a share link's /s/…) with the view's new query.
  const set = (next: ReportQuery) => navigate(`${location.value.path}${toSearch(next)}`, true);
  const base = apiParams(q);
  const root = `${wsPath(ws)}/stats`;
  const summary = useApi<Summary>(`${root}/summary${qs({ ...base, ...compareParams(q) })}`);
  const unfiltered = !isFiltered(q);
  const series = useApi<Timeseries>(`${root}/timeseries${qs({ ...base, ...compareParams(q), granularity: q.granularity, metrics: unfiltered ? 'events,users,errors,newUsers' : 'events,users,errors' })}`);
  const breakdown = useApi<Breakdown>(`${root}/breakdown${qs({ ...base, by: q.by, limit: 25 })}`);
  const errors = useApi<Breakdown>(`${root}/breakdown${qs({ ...base, by: 'error', limit: 10 })}`);
  // Property names to suggest: the workspace's rollupProperties (its settings, which a share may not read).
  const workspace = useApi<{ workspace: Workspace }>(shared ? null : wsPath(ws));
  const propertyNames = workspace.data?.workspace.rollupProperties ?? [];
  const error = summary.error || series.error || breakdown.error || errors.error;
  const empty = summary.data?.events === 0 && unfiltered && (q.range === '90d' || q.range === '30d');
  const previousRange = series.data?.previousRange ?? summary.data?.previousRange;

  return (
    <>
      <div class="page-head">
        <h1>Reports</h1>
        <span class="sub">Numbers from the rollups; unique users within 2%, percentiles within 1%.</span>
      </div>
      <RangeBar q={q} set={set} ws={ws} compare />
      <FilterBar q={q} set={set} propertyNames={propertyNames} />
      <ErrorNote error={error} />
      {!shared && empty && <FirstEvent ws={ws} />}
      {q.compare && previousRange && (
        <p class="sub" data-testid="previous-range" style={{ margin: '-6px 0 10px', fontSize: '12.5px' }}>
          Compared with {dateTime(previousRange.from)} – {dateTime(previousRange.to)}
        </p>
      )}
      {summary.data ? <SummaryCards s={summary.data} /> : <Loading />}
      <div class="grid cols-3" style={{ marginTop: '14px' }}>
        <Panel title="Over time" hint={`per ${q.granularity}${series.data?.previous ? '; dashed: the previous period' : ''}; users on the right axis`} class="span-2" testid="timeseries">
          {series.data ? <SeriesChart ts={series.data} summary={summary.data} /> : <Loading />}
          {series.data && (
            <p class="sr-only" data-testid="timeseries-total">
              {series.data.points.reduce((a, p) => a + (metric(p, 'events') ?? 0), 0)}
            </p>
          )}
        </Panel>
        <Panel title="Errors" hint="most frequent" testid="errors-panel">
          <BreakdownTable ws={ws} data={errors.data} by="error" q={q} testid="errors-table" />
        </Panel>
        <section class="panel span-2" aria-label="Breakdown" data-testid="breakdown-panel" style={{ gridColumn: '1 / -1' }}>
          <header>
            <h2>Breakdown</h2>
            <span class="hint">by {breakdownLabel(q.by)}</span>
            <BreakdownTabs q={q} set={set} propertyNames={propertyNames} />
          </header>
          <BreakdownTable ws={ws} data={breakdown.data} by={q.by} q={q} testid="breakdown-table" full />
        </section>
        <CohortTable ws={ws} />
        <GaugeReport ws={ws} q={q} />
      </div>
    </>
  );
}
