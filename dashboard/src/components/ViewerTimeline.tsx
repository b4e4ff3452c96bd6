import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { Timeseries } from '../api-types';
import { dateTime, num } from '../format';
import { Chart } from './Chart';
import { ErrorNote, Loading } from './Ui';
import { customRange, presetRange, VIEWER_RANGES, type ViewerRange } from './viewer-range';

const dateInput = (t: number) => new Date(t).toISOString().slice(0, 10);

/** Range buttons (1 h … 90 days) and a custom from/to (whole UTC days). */
export function ViewerRangeBar({ range, set }: { range: ViewerRange; set: (r: ViewerRange) => void }) {
  const [from, setFrom] = useState(dateInput(range.from));
  const [to, setTo] = useState(dateInput(range.to - 1));
  const applyCustom = () => {
    const f = Date.parse(`${from}T00:00:00Z`);
    const t = Date.parse(`${to}T00:00:00Z`) + 86_400_000;
    if (Number.isFinite(f) && Number.isFinite(t) && f < t) set(customRange(f, t));
  };
  return (
    <div class="row" style={{ marginBottom: '8px', alignItems: 'center' }}>
      <div class="tabs" role="group" aria-label="Viewer range">
        {VIEWER_RANGES.map((r) => (
          <button type="button" key={r.id} aria-pressed={range.id === r.id} onClick={() => set(presetRange(r.id))}>
            {r.label}
          </button>
        ))}
        <button type="button" aria-pressed={range.id === 'custom'} onClick={applyCustom}>
          Custom
        </button>
      </div>
      {range.id === 'custom' && (
        <>
          <input type="date" aria-label="Viewers from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} onChange={applyCustom} />
          <input type="date" aria-label="Viewers to" value={to} onInput={(e) => setTo(e.currentTarget.value)} onChange={applyCustom} />
        </>
      )}
    </div>
  );
}

/**
 * Concurrent users over a range (the most present at once per bucket), the peak marked, with the
 * participant minutes of the range: the workspace, or one room.
 */
export function ViewerTimeline({ ws, room, range }: { ws: string; room?: string; range: ViewerRange }) {
  const [data, setData] = useState<Timeseries | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setError(null);
    const query = { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), granularity: range.granularity, metrics: 'concurrentUsers,participantMinutes', room };
    // A slower answer for an earlier range must not replace the current one.
    let current = true;
    get<Timeseries>(`${wsPath(ws)}/stats/timeseries${qs(query)}`).then((d) => current && setData(d), (e) => current && setError(e));
    return () => {
      current = false;
    };
  }, [ws, room, range.from, range.to, range.granularity]);
  const view = useMemo(() => {
    const points = data?.points ?? [];
    const users = points.map((p) => Number(p.concurrentUsers ?? 0));
    let peakAt = -1;
    users.forEach((v, i) => {
      if (v > 0 && (peakAt < 0 || v > users[peakAt])) peakAt = i;
    });
    const minutes = points.reduce((sum, p) => sum + Number(p.participantMinutes ?? 0), 0);
    return {
      x: points.map((p) => Date.parse(p.t) / 1000),
      series: [
        { label: 'concurrent users', values: users, color: '--accent-2' },
        { label: 'peak', values: users.map((v, i) => (i === peakAt ? v : null)), color: '--bad', bars: true },
      ],
      peak: peakAt < 0 ? null : { users: users[peakAt], at: points[peakAt].t },
      minutes,
    };
  }, [data]);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading />;
  return (
    <div data-testid="viewer-timeline" data-points={data.points.length}>
      <p class="row" style={{ gap: '18px', margin: '0 0 6px' }}>
        <span data-testid="viewer-peak" data-peak={view.peak?.users ?? 0}>
          Peak <strong>{view.peak ? num(view.peak.users) : '–'}</strong>
          {view.peak && <span class="muted"> at {dateTime(view.peak.at)}</span>}
        </span>
        <span data-testid="viewer-minutes" data-minutes={view.minutes}>
          <strong>{num(view.minutes)}</strong> <span class="muted">participant minutes</span>
        </span>
      </p>
      <Chart x={view.x} series={view.series} height={200} label={`Concurrent users per ${range.granularity}${room ? ` in ${room}` : ''}, peak marked`} />
    </div>
  );
}
