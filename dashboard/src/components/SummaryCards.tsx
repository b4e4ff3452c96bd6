import type { Summary } from '../api-types';
import { change, changeText, verdict, type Better } from '../compare';
import { bytes, duration, exact, ms, num, pct } from '../format';

type Fields = Omit<Summary, 'previous' | 'previousRange'>;

interface CardSpec {
  testid: string;
  label: string;
  pick: (s: Fields) => number | null | undefined;
  format: (n: number | null | undefined) => string;
  foot: (s: Fields) => string | undefined;
  better: Better;
  bad?: (s: Fields) => boolean;
}

const CARDS: CardSpec[] = [
  { testid: 'sum-events', label: 'Events', pick: (s) => s.events, format: exact, foot: (s) => (s.value ? `value ${num(s.value)}` : undefined), better: 'up' },
  { testid: 'sum-users', label: 'Unique users', pick: (s) => s.users, format: exact, foot: () => '±2%', better: 'up' },
  { testid: 'sum-sessions', label: 'Sessions', pick: (s) => s.sessions, format: exact, foot: (s) => `avg ${duration(s.avgSessionSeconds)}`, better: 'up' },
  { testid: 'sum-errors', label: 'Errors', pick: (s) => s.errors, format: exact, foot: (s) => `${pct(s.errorRate)} of events`, better: 'down', bad: (s) => s.errorRate > 0.05 },
  { testid: 'sum-p50', label: 'Duration p50', pick: (s) => s.durationMs?.p50, format: ms, foot: (s) => `avg ${ms(s.durationMs?.avg)}`, better: 'down' },
  { testid: 'sum-p95', label: 'Duration p95', pick: (s) => s.durationMs?.p95, format: ms, foot: (s) => `p99 ${ms(s.durationMs?.p99)}`, better: 'down' },
  { testid: 'sum-bytes-out', label: 'Bytes out', pick: (s) => s.bytesOut, format: bytes, foot: (s) => `in ${bytes(s.bytesIn)}`, better: 'neither' },
];

/** The change against the previous period: arrow and percent, coloured by whether the move is good. */
function Change({ current, previous, spec }: { current: number | null | undefined; previous: number | null | undefined; spec: CardSpec }) {
  const ratio = change(current, previous);
  const v = verdict(ratio, spec.better);
  return (
    <span class="compare" data-testid={`${spec.testid}-compare`} data-change={ratio === null ? '' : String(ratio)} data-previous={previous ?? ''}>
      <span class={`change ${v}`} data-verdict={v}>
        {changeText(ratio, current)}
      </span>{' '}
      <span class="prev">vs {spec.format(previous)}</span>
    </span>
  );
}

/** The range's totals; with `previous` (compare=previous) each card also shows the earlier value and the change. */
export function SummaryCards({ s }: { s: Summary }) {
  const prev = s.previous;
  return (
    <div class="grid cards" data-testid="summary">
      {CARDS.map((c) => {
        const value = c.pick(s);
        const foot = c.foot(s);
        return (
          <div class="panel card" data-testid={c.testid} key={c.testid}>
            <span class="label">{c.label}</span>
            <span class={`value${c.bad?.(s) ? ' bad' : ''}`} key={String(value)}>
              {c.format(value)}
            </span>
            {prev && <Change current={value} previous={c.pick(prev)} spec={c} />}
            {foot && <span class="foot">{foot}</span>}
          </div>
        );
      })}
    </div>
  );
}
