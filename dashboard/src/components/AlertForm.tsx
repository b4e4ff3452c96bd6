import { useState } from 'preact/hooks';
import { METRIC_NAMES, METRICS } from '../alert-metrics';
import type { Alert, AlertInput, AlertMetric } from '../api-types';
import { LIMITS } from '../../../src/shared/limits';
import { DestinationFields, FieldError, OtherErrors, type DestinationValue } from './Webhooks';

/** Create or edit an alert rule: what to watch, the condition, how long, and where to post. */

interface Draft {
  name: string;
  metric: AlertMetric;
  type: string;
  room: string;
  gauge: string;
  op: '>' | '<';
  threshold: string;
  windowMinutes: string;
  forMinutes: string;
  destination: DestinationValue;
  enabled: boolean;
}

const EMPTY: Draft = {
  name: '',
  metric: 'errorRate',
  type: '',
  room: '',
  gauge: '',
  op: '>',
  threshold: '5',
  windowMinutes: '5',
  forMinutes: '2',
  destination: { url: '', format: 'standard' },
  enabled: true,
};

function draftOf(a: Alert): Draft {
  return {
    name: a.name,
    metric: a.metric,
    type: a.filter.type ?? '',
    room: a.filter.room ?? '',
    gauge: a.filter.gauge ?? '',
    op: a.op,
    threshold: String(METRICS[a.metric].toInput(a.threshold)),
    windowMinutes: String(a.windowMinutes),
    forMinutes: String(a.forMinutes),
    destination: { ...a.destination },
    enabled: a.enabled,
  };
}

function inputOf(d: Draft): AlertInput {
  const m = METRICS[d.metric];
  const filter: AlertInput['filter'] = {};
  for (const k of m.filters) if (d[k].trim()) filter[k] = d[k].trim();
  return {
    name: d.name.trim(),
    metric: d.metric,
    // Always sent: a PATCH replaces the filter whole, so an emptied filter must be sent as {}.
    filter,
    op: d.op,
    threshold: m.fromInput(Number(d.threshold)),
    windowMinutes: Number(d.windowMinutes),
    forMinutes: Number(d.forMinutes),
    destination: { url: d.destination.url.trim(), format: d.destination.format },
    enabled: d.enabled,
  };
}

const FILTER_LABEL = { type: 'Only events of type', room: 'Only room', gauge: 'Gauge name' } as const;
const FILTER_PLACEHOLDER = { type: 'any type (e.g. api.request)', room: 'any room (e.g. standup)', gauge: 'cpu.load' } as const;
const SHOWN = ['name', 'metric', 'threshold', 'windowMinutes', 'forMinutes', 'destination', 'destination.url', 'destination.format'];

/** The rule in one sentence, as it will be evaluated. */
function sentence(d: Draft): string {
  const m = METRICS[d.metric];
  const what = d.metric === 'gauge' ? `gauge ${d.gauge.trim() || '…'}` : m.label.toLowerCase();
  const where = [d.type.trim() && m.filters.includes('type') ? `type ${d.type.trim()}` : '', d.room.trim() && m.filters.includes('room') ? `room ${d.room.trim()}` : ''].filter(Boolean).join(', ');
  const threshold = d.threshold === '' ? '…' : m.show(m.fromInput(Number(d.threshold)));
  const held = Number(d.forMinutes) > 0 ? `for ${d.forMinutes} min` : 'at once';
  return `Fires when ${what}${where ? ` (${where})` : ''} over the last ${d.windowMinutes || '…'} min is ${d.op === '>' ? 'above' : 'below'} ${threshold} ${held}; resolves when it no longer is.`;
}

export function AlertForm({ alert, errors, busy, onSubmit, onCancel }: { alert?: Alert; errors: Record<string, string>; busy: boolean; onSubmit: (input: AlertInput) => void; onCancel?: () => void }) {
  const [d, setD] = useState<Draft>(alert ? draftOf(alert) : EMPTY);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD({ ...d, [k]: v });
  const m = METRICS[d.metric];
  const id = alert ? `alert-${alert.id}` : 'alert-new';
  const invalid = (path: string) => (errors[path] ? { 'aria-invalid': 'true' as const, 'aria-describedby': `${id}-${path.replace('.', '-')}-error` } : {});
  return (
    <form
      class="form-box"
      aria-label={alert ? `Edit alert ${alert.name}` : 'Create an alert'}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(inputOf(d));
      }}
    >
      <div class="row">
        <div class="field" style={{ flex: 2, minWidth: '200px' }}>
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} required maxLength={LIMITS.alertNameMaxLength} placeholder="e.g. API errors" value={d.name} onInput={(e) => set('name', e.currentTarget.value)} {...invalid('name')} />
          <FieldError id={`${id}-name`} error={errors.name} />
        </div>
        <div class="field" style={{ flex: 2, minWidth: '200px' }}>
          <label for={`${id}-metric`}>Metric</label>
          <select id={`${id}-metric`} value={d.metric} onChange={(e) => set('metric', e.currentTarget.value as AlertMetric)} {...invalid('metric')}>
            {METRIC_NAMES.map((k) => (
              <option key={k} value={k}>
                {METRICS[k].label}
              </option>
            ))}
          </select>
          <FieldError id={`${id}-metric`} error={errors.metric} />
        </div>
        {m.filters.map((k) => (
          <div class="field" style={{ flex: 2, minWidth: '160px' }} key={k}>
            <label for={`${id}-filter-${k}`}>{FILTER_LABEL[k]}</label>
            <input
              id={`${id}-filter-${k}`}
              required={k === 'gauge'}
              placeholder={FILTER_PLACEHOLDER[k]}
              value={d[k]}
              onInput={(e) => set(k, e.currentTarget.value)}
              {...invalid(`filter.${k}`)}
            />
            <FieldError id={`${id}-filter-${k}`} error={errors[`filter.${k}`] ?? (k === 'gauge' ? errors.filter : undefined)} />
          </div>
        ))}
      </div>
      <div class="row">
        <div class="field">
          <label for={`${id}-op`}>Fires when it is</label>
          <select id={`${id}-op`} value={d.op} onChange={(e) => set('op', e.currentTarget.value as '>' | '<')}>
            <option value=">">above</option>
            <option value="<">below</option>
          </select>
        </div>
        <div class="field" style={{ width: '150px' }}>
          <label for={`${id}-threshold`}>Threshold{m.unit ? ` (${m.unit})` : ''}</label>
          <input id={`${id}-threshold`} type="number" step="any" required value={d.threshold} onInput={(e) => set('threshold', e.currentTarget.value)} {...invalid('threshold')} />
          <FieldError id={`${id}-threshold`} error={errors.threshold} />
        </div>
        <div class="field" style={{ width: '150px' }}>
          <label for={`${id}-window`}>Over the last (min)</label>
          <input id={`${id}-window`} type="number" min={1} max={60} step={1} required value={d.windowMinutes} onInput={(e) => set('windowMinutes', e.currentTarget.value)} {...invalid('windowMinutes')} />
          <FieldError id={`${id}-windowMinutes`} error={errors.windowMinutes} />
        </div>
        <div class="field" style={{ width: '150px' }}>
          <label for={`${id}-for`}>For at least (min)</label>
          <input id={`${id}-for`} type="number" min={0} max={60} step={1} required value={d.forMinutes} onInput={(e) => set('forMinutes', e.currentTarget.value)} {...invalid('forMinutes')} />
          <FieldError id={`${id}-forMinutes`} error={errors.forMinutes} />
        </div>
        <label class="row" style={{ alignItems: 'center', gap: '6px', paddingBottom: '8px' }}>
          <input type="checkbox" checked={d.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} /> Enabled
        </label>
      </div>
      <DestinationFields id={id} value={d.destination} onChange={(v) => set('destination', v)} errors={errors} />
      <p class="muted" style={{ margin: 0 }} data-testid="alert-sentence">
        {sentence(d)}
      </p>
      <OtherErrors errors={errors} shown={[...SHOWN, ...m.filters.map((k) => `filter.${k}`), ...(m.filters.includes('gauge') ? ['filter'] : [])]} />
      <div class="row">
        <button class="btn primary" type="submit" disabled={busy}>
          {alert ? 'Save alert' : 'Create alert'}
        </button>
        {onCancel && (
          <button class="btn" type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
