import { useState } from 'preact/hooks';
import { qs, wsPath } from '../api';
import { apiParams, FILTERS, GRANULARITIES, RANGE_LABEL, RANGES, withChange, type FilterName, type RangeName, type ReportQuery } from '../report-query';

const dateInput = (iso?: string) => (iso ? iso.slice(0, 10) : '');

/** Range buttons (with custom dates), granularity, and the export links of what is shown. */
export function RangeBar({ q, set, ws, granularity = true }: { q: ReportQuery; set: (q: ReportQuery) => void; ws: string; granularity?: boolean }) {
  const [from, setFrom] = useState(dateInput(q.from) || new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10));
  const [to, setTo] = useState(dateInput(q.to) || new Date().toISOString().slice(0, 10));
  const applyCustom = () => {
    if (!from || !to) return;
    const f = new Date(`${from}T00:00:00Z`).toISOString();
    const t = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString();
    set(withChange(q, { range: 'custom', from: f, to: t }));
  };
  const exportHref = (format: 'csv' | 'ndjson') => `/api/v1${wsPath(ws)}/export${qs({ format, ...apiParams(q) })}`;
  return (
    <div class="row" style={{ marginBottom: '12px', alignItems: 'center' }}>
      <div class="tabs" role="group" aria-label="Range">
        {RANGES.map((r: RangeName) => (
          <button type="button" key={r} aria-pressed={q.range === r} onClick={() => (r === 'custom' ? applyCustom() : set(withChange(q, { range: r, from: undefined, to: undefined })))}>
            {RANGE_LABEL[r]}
          </button>
        ))}
      </div>
      {q.range === 'custom' && (
        <>
          <input type="date" aria-label="From" value={from} onInput={(e) => setFrom(e.currentTarget.value)} onChange={applyCustom} />
          <input type="date" aria-label="To" value={to} onInput={(e) => setTo(e.currentTarget.value)} onChange={applyCustom} />
        </>
      )}
      {granularity && (
        <select aria-label="Granularity" value={q.granularity} onChange={(e) => set({ ...q, granularity: e.currentTarget.value as ReportQuery['granularity'] })}>
          {GRANULARITIES.map((g) => (
            <option key={g} value={g}>
              per {g}
            </option>
          ))}
        </select>
      )}
      <span class="spacer" />
      <a class="btn small" href={exportHref('csv')} download data-testid="export-csv">
        Export CSV
      </a>
      <a class="btn small" href={exportHref('ndjson')} download data-testid="export-ndjson">
        Export NDJSON
      </a>
    </div>
  );
}

/** The active filters as removable chips, and a form to add one. */
export function FilterBar({ q, set }: { q: ReportQuery; set: (q: ReportQuery) => void }) {
  const [name, setName] = useState<FilterName>('type');
  const [value, setValue] = useState('');
  const active = Object.entries(q.filters).filter(([, v]) => v) as Array<[FilterName, string]>;
  return (
    <form
      class="row"
      style={{ marginBottom: '14px', alignItems: 'center' }}
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        if (!value.trim()) return;
        set({ ...q, filters: { ...q.filters, [name]: value.trim() } });
        setValue('');
      }}
    >
      {active.map(([k, v]) => (
        <span class="pill" key={k} style={{ padding: '3px 4px 3px 8px', fontSize: '12.5px' }}>
          {k} = <strong>{v}</strong>
          <button
            type="button"
            class="btn small"
            style={{ border: 0, padding: '0 6px', background: 'none' }}
            aria-label={`Remove filter ${k}`}
            onClick={() => {
              const filters = { ...q.filters };
              delete filters[k];
              set({ ...q, filters });
            }}
          >
            ×
          </button>
        </span>
      ))}
      <select aria-label="Filter by" value={name} onChange={(e) => setName(e.currentTarget.value as FilterName)}>
        {FILTERS.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
      <input aria-label="Filter value" placeholder="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} style={{ width: '160px' }} />
      <button class="btn small" type="submit">
        Add filter
      </button>
    </form>
  );
}
