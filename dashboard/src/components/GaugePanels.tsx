import { useEffect, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { GaugeSeries, Stats } from '../api-types';
import { Panel } from './Ui';

const sig = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
/** Gauges are levels of any size (0.73 CPU, 2e9 bytes): four significant digits, compact when large. */
export const gaugeValue = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 100_000 ? compact.format(v) : sig.format(v);

/** Panels shown at most (each loads an hour of minute points). */
const SHOWN = 12;
const HOUR = 3_600_000;

/** A line of minute means over the last hour, as an inline SVG (no chart library for a tile). */
function Sparkline({ points }: { points: GaugeSeries['points'] }) {
  const vals = points.map((p) => p.avg);
  const known = vals.filter((v): v is number => v !== null);
  if (known.length < 2) return <svg class="spark" viewBox="0 0 100 24" aria-hidden="true" />;
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  const y = (v: number) => (hi === lo ? 12 : 22 - ((v - lo) / (hi - lo)) * 20);
  const step = 100 / Math.max(1, vals.length - 1);
  let d = '';
  let pen = false;
  vals.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return (
    <svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" role="img" aria-label={`last hour: ${gaugeValue(lo)} to ${gaugeValue(hi)}`}>
      <path d={d} />
    </svg>
  );
}

/** The last hour of one gauge per minute, refreshed every minute (history is workspace-wide). */
function useHour(ws: string, name: string, enabled: boolean): GaugeSeries['points'] | null {
  const [points, setPoints] = useState<GaugeSeries['points'] | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    const load = () => {
      const now = Date.now();
      get<GaugeSeries>(`${wsPath(ws)}/stats/gauges${qs({ name, granularity: 'minute', from: new Date(now - HOUR).toISOString(), to: new Date(now + 1).toISOString() })}`)
        .then((s) => live && setPoints(s.points), () => undefined);
    };
    load();
    const timer = setInterval(load, 60_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [ws, name, enabled]);
  return points;
}

function GaugeTile({ ws, name, g, history }: { ws: string; name: string; g: NonNullable<Stats['gauges']>[string]; history: boolean }) {
  const points = useHour(ws, name, history);
  return (
    <div class="gauge" data-testid="gauge" data-name={name}>
      <span class="label" title={name}>{name}</span>
      <span class="value" data-col="last">{gaugeValue(g.last)}</span>
      <span class="foot">
        1 min avg <span data-col="avg1m">{gaugeValue(g.avg1m)}</span> · max <span data-col="max1m">{gaugeValue(g.max1m)}</span>
      </span>
      {history && points && <Sparkline points={points} />}
    </div>
  );
}

/** One small panel per gauge of the live stats: latest, 1-minute mean and maximum, and (workspace view) a sparkline of the last hour. */
export function GaugePanels({ ws, gauges, history = true }: { ws: string; gauges: Stats['gauges']; history?: boolean }) {
  const names = Object.keys(gauges ?? {}).sort();
  if (!names.length) return null;
  return (
    <Panel title="Gauges" hint={names.length > SHOWN ? `${SHOWN} of ${names.length}` : 'latest · last minute'} class="span-all" testid="gauges">
      <div class="gauges">
        {names.slice(0, SHOWN).map((name) => <GaugeTile key={name} ws={ws} name={name} g={gauges![name]!} history={history} />)}
      </div>
    </Panel>
  );
}
