import { useMemo, useState } from 'preact/hooks';
import { qs, wsPath } from '../api';
import type { GaugeNames, GaugeSeries } from '../api-types';
import type { ReportQuery } from '../report-query';
import { useApi } from '../views/Reports';
import { Chart } from './Chart';
import { gaugeValue } from './GaugePanels';
import { Loading, Panel } from './Ui';

/** The range of the report (gauges take no event filters). */
function rangeParams(q: ReportQuery): Record<string, string> {
  return q.range === 'custom' && q.from && q.to ? { from: q.from, to: q.to } : { range: q.range === 'custom' ? '7d' : q.range };
}

function GaugeChart({ s }: { s: GaugeSeries }) {
  const x = useMemo(() => s.points.map((p) => Date.parse(p.t) / 1000), [s]);
  const series = useMemo(
    () => [
      { label: 'max', values: s.points.map((p) => p.max), color: '--bad' },
      { label: 'avg', values: s.points.map((p) => p.avg), color: '--accent' },
      { label: 'min', values: s.points.map((p) => p.min), color: '--accent-2' },
    ],
    [s],
  );
  return <Chart x={x} series={series} height={220} yFromData label={`${s.name}: min, mean and max per ${s.granularity}`} />;
}

/** Reports: pick a gauge, see its min, mean and max per bucket over the report's range. */
export function GaugeReport({ ws, q }: { ws: string; q: ReportQuery }) {
  const root = `${wsPath(ws)}/stats/gauges`;
  const range = rangeParams(q);
  const names = useApi<GaugeNames>(`${root}${qs(range)}`);
  const [picked, setPicked] = useState<string | null>(null);
  const list = names.data?.names ?? [];
  const name = picked && list.includes(picked) ? picked : list[0] ?? null;
  const series = useApi<GaugeSeries>(name ? `${root}${qs({ ...range, name, granularity: q.granularity })}` : null);
  if (!names.data || !list.length) return null;
  const withSamples = series.data?.points.filter((p) => p.samples > 0) ?? [];
  const samples = withSamples.reduce((a, p) => a + p.samples, 0);
  return (
    <Panel
      title="Gauges"
      class="span-all"
      testid="gauge-report"
      hint={
        <span class="gauge-pick">
          <select aria-label="Gauge" value={name ?? ''} onChange={(e) => setPicked(e.currentTarget.value)}>
            {list.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
          {series.data && (
            <span data-testid="gauge-summary">
              {samples} samples · min {gaugeValue(Math.min(...withSamples.map((p) => p.min!)))} · max {gaugeValue(Math.max(...withSamples.map((p) => p.max!)))}
            </span>
          )}
        </span>
      }
    >
      {series.data && series.data.name === name ? <GaugeChart s={series.data} /> : <Loading />}
    </Panel>
  );
}
