import type { AlertMetric } from './api-types';
import { ms, num } from './format';

/** How the dashboard names and prints each alert metric (the live banner and Settings → Alerts). */
interface MetricInfo {
  label: string;
  /** Printed value of the metric (and of a threshold) in its unit. */
  show: (v: number | null | undefined) => string;
  /** The form edits the threshold in this unit: errorRate as a percentage, the rest as they are. */
  toInput: (v: number) => number;
  fromInput: (v: number) => number;
  unit?: string;
  filters: readonly ('type' | 'room' | 'gauge')[];
}

const same = (v: number) => v;
const percent = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
const plain = (unit: string) => (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${num(v)}${unit}`);

export const METRICS: Record<AlertMetric, MetricInfo> = {
  eventsPerSecond: { label: 'Events per second', show: plain('/s'), toInput: same, fromInput: same, unit: 'events/s', filters: ['type', 'room'] },
  events: { label: 'Events in the window', show: plain(''), toInput: same, fromInput: same, unit: 'events', filters: ['type', 'room'] },
  errors: { label: 'Errors in the window', show: plain(''), toInput: same, fromInput: same, unit: 'errors', filters: ['type', 'room'] },
  errorRate: {
    label: 'Error rate',
    show: (v) => (v === null || v === undefined ? '–' : `${percent.format(v * 100)}%`),
    // Round away float noise from the ×100 (0.07 × 100 = 7.000000000000001).
    toInput: (v) => Math.round(v * 100 * 1e6) / 1e6,
    fromInput: (v) => v / 100,
    unit: '%',
    filters: ['type', 'room'],
  },
  latencyP95: { label: 'Latency p95', show: ms, toInput: same, fromInput: same, unit: 'ms', filters: ['type', 'room'] },
  latencyP99: { label: 'Latency p99', show: ms, toInput: same, fromInput: same, unit: 'ms', filters: ['type', 'room'] },
  onlineUsers: { label: 'Users online', show: plain(''), toInput: same, fromInput: same, unit: 'users', filters: [] },
  roomParticipants: { label: 'Participants in a room', show: plain(''), toInput: same, fromInput: same, unit: 'participants', filters: ['room'] },
  gauge: { label: 'Gauge (server-reported value)', show: plain(''), toInput: same, fromInput: same, filters: ['gauge'] },
};

export const METRIC_NAMES = Object.keys(METRICS) as AlertMetric[];

/** "Error rate 12% > 5%": the value against the condition, for banners and lists. */
export function condition(metric: AlertMetric, op: '>' | '<', threshold: number, gauge?: string): string {
  const m = METRICS[metric];
  return `${metric === 'gauge' && gauge ? `Gauge ${gauge}` : m.label} ${op} ${m.show(threshold)}`;
}
