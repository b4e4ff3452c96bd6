import type { Breakdown } from '../api-types';
import { bytes, country, exact, ms, pct } from '../format';
import { DIMENSION_LABEL, propertyOf, toSearch, type BreakdownBy, type FilterName, type ReportQuery } from '../report-query';
import { href, location } from '../router';
import { isShared } from '../share';
import { Loading } from './Ui';

const FILTERABLE = new Set<string>(['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os']);

export const breakdownLabel = (by: BreakdownBy) => {
  const property = propertyOf(by);
  return property === null ? DIMENSION_LABEL[by as keyof typeof DIMENSION_LABEL] : property;
};

/** This report (at a workspace's /w/… or a share link's /s/… path) with another query. */
const here = (q: ReportQuery) => `${location.value.path}${toSearch(q)}`;

/** Where a row leads: the user's page, or this report filtered to the row's key. */
function rowLink(ws: string, by: BreakdownBy, q: ReportQuery, key: string): string | undefined {
  const property = propertyOf(by);
  if (property !== null) return here({ ...q, properties: { ...q.properties, [property]: key } });
  // A share link shows no user ids, and so no user pages.
  if (by === 'userId') return isShared() ? undefined : href.user(ws, key);
  if (FILTERABLE.has(by)) return here({ ...q, filters: { ...q.filters, [by as FilterName]: key } });
  return undefined;
}

export function BreakdownTable({ ws, data, by, q, testid, full = false }: { ws: string; data: Breakdown | null; by: BreakdownBy; q: ReportQuery; testid: string; full?: boolean }) {
  if (!data) return <Loading />;
  if (!data.rows.length) return <p class="empty-small">Nothing in this range</p>;
  const total = data.rows.reduce((a, r) => a + r.events, 0) || 1;
  const label = (k: string | null) => (k === null || k === '' ? '(none)' : by === 'country' ? country(k) : k);
  return (
    <div class="table-wrap">
      <table data-testid={testid}>
        <thead>
          <tr>
            <th>{breakdownLabel(by)}</th>
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
            const to = r.key === null || r.key === '' ? undefined : rowLink(ws, by, q, r.key);
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
