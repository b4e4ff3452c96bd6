import { useState } from 'preact/hooks';
import { qs, wsPath } from '../api';
import type { CohortGrain, Retention, Workspace } from '../api-types';
import { exact, pct } from '../format';
import { share } from '../share';
import { useApi } from '../views/Reports';
import { ErrorNote, Loading } from './Ui';

const GRAINS: CohortGrain[] = ['day', 'week', 'month'];
/** Periods shown after each cohort: a month of days, two months of weeks, half a year of months. */
const PERIODS: Record<CohortGrain, number> = { day: 14, week: 8, month: 6 };
const PERIOD_LABEL: Record<CohortGrain, string> = { day: 'Day', week: 'Week', month: 'Month' };

/** The cohort's first day, in the workspace's time zone (its buckets are local midnights there). */
function cohortLabel(start: string, grain: CohortGrain, tz: string | undefined): string {
  const opts: Intl.DateTimeFormatOptions = grain === 'month' ? { year: 'numeric', month: 'short' } : { month: 'short', day: 'numeric' };
  try {
    return new Intl.DateTimeFormat(undefined, { ...opts, timeZone: tz }).format(new Date(start));
  } catch {
    return new Intl.DateTimeFormat(undefined, opts).format(new Date(start));
  }
}

/** A cell shaded by its share: the accent at that strength over the panel. */
const shade = (share: number) => ({ background: `color-mix(in srgb, var(--accent) ${Math.round(8 + share * 72)}%, var(--panel))`, color: share > 0.45 ? '#fff' : undefined });

/**
 * The classic retention triangle: one row per cohort (users first seen in that day, week or month),
 * one column per period after it, each cell the share of the cohort active then.
 */
export function CohortTable({ ws }: { ws: string }) {
  const [grain, setGrain] = useState<CohortGrain>('week');
  const data = useApi<Retention>(`${wsPath(ws)}/stats/retention${qs({ cohort: grain, periods: PERIODS[grain] })}`);
  // A share may not read the workspace's settings: its timezone comes with the share's info.
  const workspace = useApi<{ workspace: Workspace }>(share.value ? null : wsPath(ws));
  const tz = share.value?.info.workspace.timezone ?? workspace.data?.workspace.timezone;
  const r = data.data;
  return (
    <section class="panel" aria-label="Retention" data-testid="retention-panel" style={{ gridColumn: '1 / -1' }}>
      <header>
        <h2>Retention</h2>
        <span class="hint">users by first {grain}, and the share active in each {grain} after; blank: not yet, or older than the raw retention</span>
        <div class="tabs" role="group" aria-label="Cohorts by">
          {GRAINS.map((g) => (
            <button type="button" key={g} aria-pressed={grain === g} onClick={() => setGrain(g)}>
              {PERIOD_LABEL[g]}
            </button>
          ))}
        </div>
      </header>
      <ErrorNote error={data.error} />
      {!r || r.cohort !== grain ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table class="cohorts" data-testid="retention-table">
            <thead>
              <tr>
                <th>Cohort</th>
                <th class="num">Users</th>
                {Array.from({ length: r.periods }, (_, i) => (
                  <th class="num" key={i}>{`${PERIOD_LABEL[grain]} ${i + 1}`}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...r.cohorts].reverse().map((c) => (
                <tr key={c.start} data-start={c.start}>
                  <td>{cohortLabel(c.start, grain, tz)}</td>
                  <td class="num" data-col="users">{exact(c.users)}</td>
                  {c.returning.map((share, i) => (
                    <td
                      key={i}
                      class="num cell"
                      data-col={`p${i + 1}`}
                      style={share === null ? undefined : shade(share)}
                      title={share === null ? undefined : `${exact(c.returningUsers[i])} of ${exact(c.users)}`}
                    >
                      {share === null ? '' : pct(share)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
