import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  /** A CSS variable name such as --accent, or a color. */
  color: string;
  /** Drawn as bars instead of a line. */
  bars?: boolean;
  /** Against a second y axis on the right: counts of people (80 users) beside counts of events (18,000). */
  right?: boolean;
  /** A dashed line: the previous period beside the current one. */
  dashed?: boolean;
  /** The legend's value when no point is hovered (the range's total); absent: blank. */
  total?: number | null;
}

interface Props {
  /** Epoch seconds. */
  x: number[];
  series: ChartSeries[];
  height?: number;
  label?: string;
  /** The y axis spans the data (levels that may be negative or far from 0) instead of starting at 0. */
  yFromData?: boolean;
}

// uPlot is loaded with the first chart so the sign-in page and first paint stay small.
let uplotModule: Promise<typeof uPlot> | undefined;
const loadUplot = () => (uplotModule ??= import('uplot').then((m) => m.default));

const cssVar = (name: string) =>
  name.startsWith('--') ? getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888' : name;

const legendTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const legendNum = (v: number) => (Number.isInteger(v) ? v.toLocaleString() : v.toFixed(2));

/** The scale of the right-hand y axis. */
const RIGHT = 'right';
const tickValues = (_u: uPlot, ticks: number[]) => ticks.map((v) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`));
const fromZero = (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1];

/** `totals()` gives the latest render's totals: the options are built once per shape, the data changes under them. */
function options(width: number, height: number, series: ChartSeries[], U: typeof uPlot, totals: () => Array<number | null | undefined>, yFromData = false): uPlot.Options {
  const hasBars = series.some((s) => s.bars);
  const hasRight = series.some((s) => s.right);
  const hasTotals = series.some((s) => s.total !== undefined);
  const muted = cssVar('--muted');
  const grid = cssVar('--border');
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
  return {
    width,
    height,
    padding: [8, 8, 0, 0],
    cursor: { points: { size: 6 } },
    // A dashed series gets a dashed legend marker: the previous period reads as such in the legend too.
    legend: { show: true, live: true, markers: { dash: (u: uPlot, i: number) => (u.series[i].dash ? 'dashed' : 'solid') } },
    scales: {
      x: {
        time: true,
        // Bars are centred on their bucket: pad half a bucket each side so the first and last are whole.
        range: (u, min, max) => {
          const xs = u.data[0];
          const step = hasBars && xs.length > 1 ? xs[1] - xs[0] : 0;
          return [min - step / 2, max + step / 2];
        },
      },
      y: { range: (u, min, max) => (yFromData ? padded(min, max) : fromZero(u, min, max)) },
      ...(hasRight ? { [RIGHT]: { range: fromZero } } : {}),
    },
    axes: [
      axis,
      { ...axis, size: 48, values: tickValues },
      // The right axis has its own ticks but no grid: one grid (the left's) is readable, two are not.
      // Its numbers take the colour of its first series, so which axis a line reads against shows.
      ...(hasRight ? [{ ...axis, stroke: cssVar(series.find((s) => s.right)!.color), scale: RIGHT, side: 1, size: 48, grid: { show: false }, values: tickValues }] : []),
    ],
    series: [
      // Not hovering: the legend shows the range's totals, so the time column says so.
      { value: (_u, v) => (v == null ? (hasTotals ? 'Total' : '') : legendTime.format(new Date(v * 1000))) },
      ...series.map((s, i) => {
        const color = cssVar(s.color);
        return {
          label: s.label,
          stroke: color,
          width: 2,
          ...(s.right ? { scale: RIGHT } : {}),
          // Levels (yFromData) are lines only: a fill down to the axis would suggest an amount. A dashed comparison
          // and a right-axis line are lines too: their fill would cover the left axis' figures.
          fill: yFromData || s.dashed || s.right ? undefined : `${color}22`,
          ...(s.dashed ? { dash: [6, 4], width: 1.5 } : {}),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => {
            const shown = v ?? totals()[i];
            return shown == null ? '' : legendNum(shown);
          },
          ...(s.bars ? { paths: U.paths.bars!({ size: [0.7, 40] }), fill: `${color}aa`, width: 0 } : {}),
        } as uPlot.Series;
      }),
    ],
  };
}

/** What was drawn, read back from uPlot, as data attributes: tests and tools see the series and axes without pixels. */
function describe(u: uPlot, el: HTMLElement): void {
  el.dataset.series = JSON.stringify(
    u.series.slice(1).map((s, i) => ({
      label: s.label,
      scale: s.scale,
      dash: s.dash ?? null,
      stroke: typeof s.stroke === 'function' ? s.stroke(u, i + 1) : (s.stroke ?? null),
    })),
  );
  el.dataset.axes = JSON.stringify(u.axes.map((a) => ({ scale: a.scale, side: a.side })));
}

/** [min, max] with a little room either side (a flat line gets a unit band). */
function padded(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null) return [0, 1];
  const pad = max > min ? (max - min) * 0.08 : Math.abs(max) * 0.1 || 1;
  return [min - pad, max + pad];
}

/** A time series chart (uPlot), sized to its container and redrawn when data changes. */
export function Chart({ x, series, height = 220, label, yFromData = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}:${s.bars ? 1 : 0}${s.right ? 'r' : ''}${s.dashed ? 'd' : ''}${s.total === undefined ? '' : 't'}`).join('|');
  // uPlot arrives asynchronously: it must draw the data of the latest render, not of the first.
  const latest = useRef({ x, series });
  latest.current = { x, series };

  useEffect(() => {
    let cancelled = false;
    let observer: ResizeObserver | undefined;
    void loadUplot().then((U) => {
      if (cancelled || !box.current) return;
      const el = box.current;
      plot.current?.destroy();
      const now = latest.current;
      const totals = () => latest.current.series.map((s) => s.total);
      plot.current = new U(options(el.clientWidth || 600, height, now.series, U, totals, yFromData), [now.x, ...now.series.map((s) => s.values)] as uPlot.AlignedData, el);
      describe(plot.current, el);
      observer = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height, yFromData]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
    // The totals changed with the data: redraw the legend where it stands (hovered point or totals).
    u.setLegend({ idx: u.cursor.idx ?? undefined });
  }, [x, series]);

  return <div class="chart" ref={box} role="img" aria-label={label ?? series.map((s) => s.label).join(', ')} style={{ minHeight: `${height + 30}px` }} />;
}
