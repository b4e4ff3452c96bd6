import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { Breakdown, Summary, Timeseries } from '../api-types';
import { Chart } from '../components/Chart';
import { CohortTable } from '../components/CohortTable';
import { GaugeReport } from '../components/GaugeReport';
import { FilterBar, RangeBar } from '../components/ReportControls';
import { Card, ErrorNote, FirstEvent, Loading, Panel } from '../components/Ui';
import { bytes, country, duration, exact, ms, num, pct } from '../format';
import { apiParams, DIMENSION_LABEL, DIMENSIONS, parseQuery, toSearch, type Dimension, type FilterName, type ReportQuery } from '../report-query';
import { href, navigate, query, type Route } from '../router';

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

function SeriesChart({ ts }: { ts: Timeseries }) {
  const x = useMemo(() => ts.points.map((p) => Date.parse(p.t) / 1000), [ts]);
  const series = useMemo(
    () => [
      { label: 'events', values: ts.points.map((p) => metric(p, 'events')), color: '--accent', bars: true },
      { label: 'users', values: ts.points.map((p) => metric(p, 'users')), color: '--accent-2' },
      { label: 'errors', values: ts.points.map((p) => metric(p, 'errors')), color: '--bad' },
      // Only asked for without filters: new users are of the whole workspace.
      ...(ts.points.some((p) => 'newUsers' in p) ? [{ label: 'new users', values: ts.points.map((p) => metric(p, 'newUsers')), color: '--good' }] : []),
    ],
    [ts],
  );
  return <Chart x={x} series={series} height={240} label={`Events, users, errors and new users per ${ts.granularity}`} />;
}

const FILTERABLE = new Set<string>(['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os']);

export function BreakdownTable({ ws, data, by, q, testid, full = false }: { ws: string; data: Breakdown | null; by: Dimension; q: ReportQuery; testid: string; full?: boolean }) {
  if (!data) return <Loading />;
  if (!data.rows.length) return <p class="empty-small">Nothing in this range</p>;
  const total = data.rows.reduce((a, r) => a + r.events, 0) || 1;
  const label = (k: string | null) => (k === null || k === '' ? '(none)' : by === 'country' ? country(k) : k);
  const link = (k: string | null) => {
    if (k === null || k === '') return undefined;
    if (by === 'userId') return href.user(ws, k);
    if (FILTERABLE.has(by)) return href.reports(ws, toSearch({ ...q, filters: { ...q.filters, [by as FilterName]: k } }));
    return undefined;
  };
  return (
    <div class="table-wrap">
      <table data-testid={testid}>
        <thead>
          <tr>
            <th>{DIMENSION_LABEL[by]}</th>
            <th class="num">Events</th>
            <th class="num">Share</th>
            <th class="num">Users</th>
            {by !== 'error' && <th class="num">Errors</th>}
            {full && <th class="num">p50 / p95</th>}
            {full && <th class="num">Bytes out</th>}
          </tr>
        </thead>
        <tbody>
          {data.rows.map((r) => {
            const to = link(r.key);
            return (
              <tr key={r.key ?? ''} data-key={r.key ?? ''}>
                <td>{to ? <a href={to}>{label(r.key)}</a> : label(r.key)}</td>
                <td class="num" data-col="events">{exact(r.events)}</td>
                <td class="num">{pct(r.events / total)}</td>
                <td class="num" data-col="users">{exact(r.users)}</td>
                {by !== 'error' && <td class={`num${r.errors ? ' err' : ''}`} data-col="errors">{exact(r.errors)}</td>}
                {full && <td class="num">{r.durationMs.p50 === null ? '–' : `${ms(r.durationMs.p50)} / ${ms(r.durationMs.p95)}`}</td>}
                {full && <td class="num">{bytes(r.bytesOut)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function SummaryCards({ s }: { s: Summary }) {
  return (
    <div class="grid cards" data-testid="summary">
      <Card testid="sum-events" label="Events" value={exact(s.events)} foot={s.value ? `value ${num(s.value)}` : undefined} />
      <Card testid="sum-users" label="Unique users" value={exact(s.users)} foot="±2%" />
      <Card testid="sum-sessions" label="Sessions" value={exact(s.sessions)} foot={`avg ${duration(s.avgSessionSeconds)}`} />
      <Card testid="sum-errors" label="Errors" value={exact(s.errors)} foot={`${pct(s.errorRate)} of events`} bad={s.errorRate > 0.05} />
      <Card testid="sum-p50" label="Duration p50" value={ms(s.durationMs?.p50)} foot={`avg ${ms(s.durationMs?.avg)}`} />
      <Card testid="sum-p95" label="Duration p95" value={ms(s.durationMs?.p95)} foot={`p99 ${ms(s.durationMs?.p99)}`} />
      <Card testid="sum-bytes-out" label="Bytes out" value={bytes(s.bytesOut)} foot={`in ${bytes(s.bytesIn)}`} />
    </div>
  );
}

export default function Reports({ route }: { route: Route }) {
  const ws = (route as { ws: string }).ws;
  const q = parseQuery(query.value);
  const set = (next: ReportQuery) => navigate(href.reports(ws, toSearch(next)), true);
  const base = apiParams(q);
  const root = `${wsPath(ws)}/stats`;
  const summary = useApi<Summary>(`${root}/summary${qs(base)}`);
  const unfiltered = !Object.values(q.filters).some(Boolean);
  const series = useApi<Timeseries>(`${root}/timeseries${qs({ ...base, granularity: q.granularity, metrics: unfiltered ? 'events,users,errors,newUsers' : 'events,users,errors' })}`);
  const breakdown = useApi<Breakdown>(`${root}/breakdown${qs({ ...base, by: q.by, limit: 25 })}`);
  const errors = useApi<Breakdown>(`${root}/breakdown${qs({ ...base, by: 'error', limit: 10 })}`);
  const error = summary.error || series.error || breakdown.error || errors.error;
  const empty = summary.data?.events === 0 && unfiltered && (q.range === '90d' || q.range === '30d');

  return (
    <>
      <div class="page-head">
        <h1>Reports</h1>
        <span class="sub">Numbers from the rollups; unique users within 2%, percentiles within 1%.</span>
      </div>
      <RangeBar q={q} set={set} ws={ws} />
      <FilterBar q={q} set={set} />
      <ErrorNote error={error} />
      {empty && <FirstEvent ws={ws} />}
      {summary.data ? <SummaryCards s={summary.data} /> : <Loading />}
      <div class="grid cols-3" style={{ marginTop: '14px' }}>
        <Panel title="Over time" hint={`per ${q.granularity}`} class="span-2" testid="timeseries">
          {series.data ? <SeriesChart ts={series.data} /> : <Loading />}
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
            <div class="tabs" role="group" aria-label="Break down by">
              {DIMENSIONS.filter((d) => d !== 'error').map((d) => (
                <button type="button" key={d} aria-pressed={q.by === d} onClick={() => set({ ...q, by: d })}>
                  {DIMENSION_LABEL[d]}
                </button>
              ))}
            </div>
          </header>
          <BreakdownTable ws={ws} data={breakdown.data} by={q.by} q={q} testid="breakdown-table" full />
        </section>
        <CohortTable ws={ws} />
        <GaugeReport ws={ws} q={q} />
      </div>
    </>
  );
}
