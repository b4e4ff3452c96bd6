import { useState } from 'preact/hooks';
import { country, num } from '../format';

interface BarRow {
  key: string;
  value: number;
  href?: string;
}

/** Horizontal share bars in hand-made SVG: each row's bar is its share of the largest. */
export function Bars({ rows, max = 8, format = num, empty = 'Nothing yet' }: { rows: BarRow[]; max?: number; format?: (n: number) => string; empty?: string }) {
  const shown = rows.slice(0, max);
  const top = Math.max(1, ...shown.map((r) => r.value));
  if (!shown.length) return <p class="empty-small">{empty}</p>;
  return (
    <ul class="bars">
      {shown.map((r) => (
        <li class="bar" key={r.key}>
          <svg aria-hidden="true" preserveAspectRatio="none" viewBox="0 0 100 10">
            <rect x="0" y="0" height="10" rx="1.2" width={(r.value / top) * 100} />
          </svg>
          <span>{r.href ? <a href={r.href}>{r.key}</a> : r.key}</span>
          <span class="n">{format(r.value)}</span>
        </li>
      ))}
    </ul>
  );
}

export const toRows = (counts: Record<string, number> | undefined, label: (k: string) => string = (k) => k): BarRow[] =>
  Object.entries(counts ?? {})
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => ({ key: label(k), value: v }));

const DIMENSIONS = ['platform', 'device', 'browser', 'os', 'country'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Shares of online users by platform, device, browser, os and country, one at a time behind tabs. */
export function Shares({ distribution }: { distribution: Record<Dimension, Record<string, number>> | undefined }) {
  const [dim, setDim] = useState<Dimension>('platform');
  return (
    <section class="panel" aria-label="Online users by dimension">
      <header>
        <h2>Online users by</h2>
        <div class="tabs" role="group" aria-label="Dimension">
          {DIMENSIONS.map((d) => (
            <button type="button" key={d} aria-pressed={dim === d} onClick={() => setDim(d)}>
              {d}
            </button>
          ))}
        </div>
      </header>
      <Bars rows={toRows(distribution?.[dim], dim === 'country' ? country : undefined)} empty="No one online right now" />
    </section>
  );
}
