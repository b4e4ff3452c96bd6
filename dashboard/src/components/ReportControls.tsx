import { useState } from 'preact/hooks';
import { LIMITS } from '../../../src/shared/limits';
import { qs, wsPath } from '../api';
import { apiParams, FILTERS, GRANULARITIES, PROPERTY_PREFIX, RANGE_LABEL, RANGES, validPropertyName, withChange, type FilterName, type RangeName, type ReportQuery } from '../report-query';
import { isShared } from '../share';

const dateInput = (iso?: string) => (iso ? iso.slice(0, 10) : '');

/** Range buttons (with custom dates), granularity, the previous-period toggle, and the export links of what is shown. */
export function RangeBar({ q, set, ws, granularity = true, compare = false }: { q: ReportQuery; set: (q: ReportQuery) => void; ws: string; granularity?: boolean; compare?: boolean }) {
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
      {compare && (
        <label class="row" style={{ gap: '6px', alignItems: 'center', fontSize: '13px' }}>
          <input type="checkbox" checked={q.compare} data-testid="compare-toggle" onChange={(e) => set({ ...q, compare: e.currentTarget.checked })} />
          Compare with previous period
        </label>
      )}
      <span class="spacer" />
      {/* A share link shows aggregates only: export (raw events) is refused to it. */}
      {!isShared() && (
        <>
          <a class="btn small" href={exportHref('csv')} download data-testid="export-csv">
            Export CSV
          </a>
          <a class="btn small" href={exportHref('ndjson')} download data-testid="export-ndjson">
            Export NDJSON
          </a>
        </>
      )}
    </div>
  );
}

const PROPERTY = 'property';

function Chip({ label, value, remove }: { label: string; value: string; remove: () => void }) {
  return (
    <span class="pill" data-testid="filter-chip" style={{ padding: '3px 4px 3px 8px', fontSize: '12.5px' }}>
      {label} = <strong>{value}</strong>
      <button type="button" class="btn small" style={{ border: 0, padding: '0 6px', background: 'none' }} aria-label={`Remove filter ${label}`} onClick={remove}>
        ×
      </button>
    </span>
  );
}

/**
 * The active filters as removable chips (ANDed), and a form to add one: a built-in dimension, or
 * `property.NAME` with names suggested from the workspace's rollupProperties (any name may be typed).
 */
export function FilterBar({ q, set, propertyNames = [] }: { q: ReportQuery; set: (q: ReportQuery) => void; propertyNames?: string[] }) {
  // A share link shows no user ids: no userId filter.
  const filters = FILTERS.filter((f) => f !== 'userId' || !isShared());
  const [name, setName] = useState<FilterName | typeof PROPERTY>('type');
  const [property, setProperty] = useState('');
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const active = Object.entries(q.filters).filter(([, v]) => v) as Array<[FilterName, string]>;
  const properties = Object.entries(q.properties);
  const add = () => {
    const v = value.trim();
    if (!v) return;
    if (name !== PROPERTY) set({ ...q, filters: { ...q.filters, [name]: v } });
    else {
      const p = property.trim();
      if (!validPropertyName(p)) return setProblem(`A property name is 1–${LIMITS.propertyNameMaxLength} characters`);
      if (!(p in q.properties) && properties.length >= LIMITS.propertyFiltersMax) return setProblem(`At most ${LIMITS.propertyFiltersMax} property filters`);
      set({ ...q, properties: { ...q.properties, [p]: v } });
    }
    setProblem(null);
    setValue('');
  };
  return (
    <form
      class="row"
      style={{ marginBottom: '14px', alignItems: 'center' }}
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        add();
      }}
    >
      {active.map(([k, v]) => (
        <Chip
          key={k}
          label={k}
          value={v}
          remove={() => {
            const next = { ...q.filters };
            delete next[k];
            set({ ...q, filters: next });
          }}
        />
      ))}
      {properties.map(([k, v]) => (
        <Chip
          key={`p.${k}`}
          label={`${PROPERTY_PREFIX}${k}`}
          value={v}
          remove={() => {
            const next = { ...q.properties };
            delete next[k];
            set({ ...q, properties: next });
          }}
        />
      ))}
      <select aria-label="Filter by" value={name} onChange={(e) => setName(e.currentTarget.value as FilterName | typeof PROPERTY)}>
        {filters.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
        <option value={PROPERTY}>property…</option>
      </select>
      {name === PROPERTY && (
        <>
          <input
            aria-label="Property name"
            placeholder="property name"
            list="property-names"
            maxLength={LIMITS.propertyNameMaxLength}
            value={property}
            onInput={(e) => setProperty(e.currentTarget.value)}
            style={{ width: '140px' }}
          />
          <datalist id="property-names">
            {propertyNames.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </>
      )}
      <input aria-label="Filter value" placeholder="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} style={{ width: '160px' }} />
      <button class="btn small" type="submit">
        Add filter
      </button>
      {problem && (
        <span class="error-text" role="alert">
          {problem}
        </span>
      )}
    </form>
  );
}
