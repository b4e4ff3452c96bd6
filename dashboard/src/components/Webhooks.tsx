import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, get } from '../api';
import type { Delivery, DeliveryFormat } from '../api-types';
import { ago, dateTime } from '../format';
import { LIMITS } from '../../../src/shared/limits';
import { Code, ErrorNote, Loading } from './Ui';

/** What alert rules and scheduled reports share: where they post, their secret, their delivery log. */

/** An API error split by the form field it names (issue paths such as `destination.url`); `''` holds the rest. */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!err) return {};
  if (!(err instanceof ApiFailure)) return { '': err instanceof Error ? err.message : String(err) };
  const out: Record<string, string> = {};
  const issues = err.issues.length ? err.issues : parsedIssue(err.message);
  for (const i of issues) out[i.path] ??= i.message;
  if (!issues.length) out[''] = err.message;
  return out;
}

/** A 400 without issues whose message reads "path: what is wrong". */
function parsedIssue(message: string): { path: string; message: string }[] {
  const m = /^([A-Za-z][\w.]*): (.+)$/.exec(message);
  return m ? [{ path: m[1], message: m[2] }] : [];
}

/** The errors no visible field shows, so none is lost. */
export function OtherErrors({ errors, shown }: { errors: Record<string, string>; shown: readonly string[] }) {
  const rest = Object.entries(errors).filter(([path]) => !shown.includes(path));
  if (!rest.length) return null;
  return (
    <p class="error-text" role="alert">
      {rest.map(([path, message]) => (path ? `${path}: ${message}` : message)).join(' · ')}
    </p>
  );
}

export function FieldError({ id, error }: { id: string; error?: string }) {
  return error ? (
    <span class="field-error" id={`${id}-error`} role="alert">
      {error}
    </span>
  ) : null;
}

export interface DestinationValue {
  url: string;
  format: DeliveryFormat;
}

export function DestinationFields({ id, value, onChange, errors }: { id: string; value: DestinationValue; onChange: (v: DestinationValue) => void; errors: Record<string, string> }) {
  const urlError = errors['destination.url'] ?? errors['destination'];
  return (
    <div class="row">
      <div class="field" style={{ flex: 3, minWidth: '240px' }}>
        <label for={`${id}-url`}>Destination URL</label>
        <input
          id={`${id}-url`}
          type="url"
          required
          maxLength={LIMITS.destinationUrlMaxLength}
          placeholder="https://hooks.example.com/edgepulse"
          value={value.url}
          aria-invalid={urlError ? 'true' : undefined}
          aria-describedby={urlError ? `${id}-url-error` : undefined}
          onInput={(e) => onChange({ ...value, url: e.currentTarget.value })}
        />
        <FieldError id={`${id}-url`} error={urlError} />
      </div>
      <div class="field" style={{ flex: 2, minWidth: '200px' }}>
        <label for={`${id}-format`}>Format</label>
        <select id={`${id}-format`} value={value.format} onChange={(e) => onChange({ ...value, format: e.currentTarget.value as DeliveryFormat })}>
          <option value="standard">Standard Webhooks (signed JSON)</option>
          <option value="slack">Slack incoming webhook</option>
        </select>
        <FieldError id={`${id}-format`} error={errors['destination.format']} />
      </div>
    </div>
  );
}

/** Where a rule or schedule posts: the host (the whole URL on hover) and the format. */
export function DestinationCell({ destination }: { destination: DestinationValue }) {
  let host = destination.url;
  try {
    host = new URL(destination.url).host;
  } catch {
    // shown as stored
  }
  return (
    <>
      <span class="mono" title={destination.url}>
        {host}
      </span>{' '}
      <span class="pill">{destination.format}</span>
    </>
  );
}

/** The signing secret of a new rule or schedule: shown once, with a copy button. */
export function NewSecret({ what, secret, onDone }: { what: string; secret: string; onDone: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.scrollIntoView({ block: 'nearest' }), [secret]);
  return (
    <div class="form-box" data-testid="new-webhook-secret" ref={box}>
      <p class="ok-text" style={{ margin: 0 }}>
        {what} created. Its signing secret verifies every delivery (Standard Webhooks). Copy it now: it will not be shown again.
      </p>
      <Code text={secret} label="signing secret" />
      <div>
        <button type="button" class="btn small" onClick={onDone}>
          I have saved it
        </button>
      </div>
    </div>
  );
}

/** How often an open delivery log asks again while a delivery is pending. */
const PENDING_POLL_MS = 2_000;

const STATUS_CLASS: Record<Delivery['status'], string> = { delivered: 'pill good', pending: 'pill', failed: 'pill bad' };

/** The last deliveries of a rule or schedule, refreshed while any is still being attempted. */
export function DeliveryLog({ path, reload, empty }: { path: string; reload: number; empty: string }) {
  const [rows, setRows] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    get<{ deliveries: Delivery[] }>(path).then(
      (r) => live && (setRows(r.deliveries), setError(null)),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [path, reload, tick]);
  const pending = !rows || rows.some((d) => d.status === 'pending');
  useEffect(() => {
    if (!pending) return;
    const t = setTimeout(() => setTick((n) => n + 1), PENDING_POLL_MS);
    return () => clearTimeout(t);
  }, [pending, rows, error]);

  if (error && !rows) return <ErrorNote error={error} />;
  if (!rows) return <Loading />;
  if (!rows.length) return <p class="empty-small">{empty}</p>;
  return (
    <div class="table-wrap">
      <table data-testid="deliveries">
        <thead>
          <tr>
            <th>When</th>
            <th>Type</th>
            <th>Status</th>
            <th class="num">Attempts</th>
            <th>Last answer</th>
            <th>Next attempt</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-delivery-id={d.id} data-status={d.status}>
              <td title={dateTime(d.at)}>{ago(d.at)}</td>
              <td class="mono">{d.type}</td>
              <td>
                <span class={STATUS_CLASS[d.status]}>{d.status}</span>
              </td>
              <td class="num">{d.attempts}</td>
              <td class={d.error || (d.responseStatus ?? 0) >= 300 ? 'err' : ''}>
                {d.responseStatus !== null ? `HTTP ${d.responseStatus}` : ''}
                {d.error ? `${d.responseStatus !== null ? ' · ' : ''}${d.error}` : ''}
                {d.responseStatus === null && !d.error ? '–' : ''}
              </td>
              <td title={dateTime(d.nextAttemptAt)}>{d.nextAttemptAt ? ago(d.nextAttemptAt) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
