import { useEffect, useState } from 'preact/hooks';
import { api, get, wsPath } from '../api';
import type { Schedule, ScheduleInput } from '../api-types';
import { ErrorNote, Loading, Panel } from '../components/Ui';
import { DeliveryLog, DestinationFields, FieldError, fieldErrors, NewSecret, OtherErrors, type DestinationValue } from '../components/Webhooks';
import { ago, dateTime } from '../format';
import { LIMITS } from '../../../src/shared/limits';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;

function when(s: Pick<Schedule, 'every' | 'hour' | 'weekday'>): string {
  return s.every === 'day' ? `Every day at ${hh(s.hour)}` : `Every ${WEEKDAYS[s.weekday ?? 1]} at ${hh(s.hour)}`;
}

const SHOWN = ['name', 'every', 'hour', 'weekday', 'destination', 'destination.url', 'destination.format'];

function ScheduleForm({ timezone, errors, busy, onSubmit, onCancel }: { timezone?: string; errors: Record<string, string>; busy: boolean; onSubmit: (s: ScheduleInput) => void; onCancel: () => void }) {
  const [name, setName] = useState('');
  const [every, setEvery] = useState<'day' | 'week'>('day');
  const [hour, setHour] = useState(8);
  const [weekday, setWeekday] = useState(1);
  const [destination, setDestination] = useState<DestinationValue>({ url: '', format: 'standard' });
  const id = 'schedule-new';
  return (
    <form
      class="form-box"
      aria-label="Create a scheduled report"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit({ name: name.trim(), every, hour, ...(every === 'week' ? { weekday } : {}), destination: { url: destination.url.trim(), format: destination.format } });
      }}
    >
      <div class="row">
        <div class="field" style={{ flex: 2, minWidth: '200px' }}>
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} required maxLength={LIMITS.alertNameMaxLength} placeholder="e.g. Morning summary" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-invalid={errors.name ? 'true' : undefined} />
          <FieldError id={`${id}-name`} error={errors.name} />
        </div>
        <div class="field">
          <label for={`${id}-every`}>Report</label>
          <select id={`${id}-every`} value={every} onChange={(e) => setEvery(e.currentTarget.value as 'day' | 'week')}>
            <option value="day">daily (the previous day)</option>
            <option value="week">weekly (the previous 7 days)</option>
          </select>
          <FieldError id={`${id}-every`} error={errors.every} />
        </div>
        {every === 'week' && (
          <div class="field">
            <label for={`${id}-weekday`}>On</label>
            <select id={`${id}-weekday`} value={weekday} onChange={(e) => setWeekday(Number(e.currentTarget.value))}>
              {WEEKDAYS.map((d, i) => (
                <option key={d} value={i}>
                  {d}
                </option>
              ))}
            </select>
            <FieldError id={`${id}-weekday`} error={errors.weekday} />
          </div>
        )}
        <div class="field">
          <label for={`${id}-hour`}>At{timezone ? ` (${timezone})` : ''}</label>
          <select id={`${id}-hour`} value={hour} onChange={(e) => setHour(Number(e.currentTarget.value))}>
            {Array.from({ length: 24 }, (_, h) => (
              <option key={h} value={h}>
                {hh(h)}
              </option>
            ))}
          </select>
          <FieldError id={`${id}-hour`} error={errors.hour} />
        </div>
      </div>
      <DestinationFields id={id} value={destination} onChange={setDestination} errors={errors} />
      <p class="muted" style={{ margin: 0 }}>
        Posts the summary of the previous {every === 'day' ? 'day' : 'week'} beside the one before it, the top event types and rooms, and a link to the report.
      </p>
      <OtherErrors errors={errors} shown={SHOWN} />
      <div class="row">
        <button class="btn primary" type="submit" disabled={busy}>
          Create schedule
        </button>
        <button class="btn" type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Settings → Scheduled reports: daily or weekly summaries posted at the workspace's local hour. */
export function Schedules({ ws, timezone }: { ws: string; timezone?: string }) {
  const base = `${wsPath(ws)}/schedules`;
  const [list, setList] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [formError, setFormError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);

  const load = () => get<{ schedules: Schedule[] }>(base).then((r) => (setList(r.schedules), setError(null)), setError);
  useEffect(() => void load(), [ws]);

  const run = async (what: () => Promise<unknown>, onError: (err: unknown) => void = setError) => {
    setBusy(true);
    setNotice(null);
    try {
      await what();
      await load();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const create = (input: ScheduleInput) =>
    run(async () => {
      const r = await api<{ schedule: Schedule; secret: string }>('POST', base, input);
      setSecret({ name: r.schedule.name, secret: r.secret });
      setCreating(false);
      setFormError(null);
    }, setFormError);
  const remove = (id: string) =>
    run(async () => {
      await api('DELETE', `${base}/${encodeURIComponent(id)}`);
      setConfirming(null);
      if (open === id) setOpen(null);
    });
  const sendNow = (s: Schedule) =>
    run(async () => {
      await api('POST', `${base}/${encodeURIComponent(s.id)}/send`);
      setOpen(s.id);
      setReload((n) => n + 1);
      setNotice(`Report “${s.name}” queued`);
    });

  const full = (list?.length ?? 0) >= LIMITS.schedulesMax;
  return (
    <div id="scheduled-reports" class="span-2">
      <Panel title="Scheduled reports" hint={list ? `${list.length} of ${LIMITS.schedulesMax}${timezone ? ` · hours in ${timezone}` : ''}` : undefined} testid="schedules">
        {secret && <NewSecret what={`Schedule “${secret.name}”`} secret={secret.secret} onDone={() => setSecret(null)} />}
        {notice && (
          <p class="ok-text" role="status">
            {notice}
          </p>
        )}
        <ErrorNote error={error} />
        {!list ? (
          <Loading />
        ) : list.length === 0 && !creating ? (
          <p class="empty-small">No scheduled reports yet. Get yesterday’s numbers every morning, or last week’s every Monday.</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="schedules-table">
              <thead>
                <tr>
                  <th>Report</th>
                  <th>When</th>
                  <th>Last sent</th>
                  <th>Destination</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((s) => [
                  <tr key={s.id} data-schedule-id={s.id}>
                    <td>
                      <strong>{s.name}</strong>
                      {!s.enabled && <span class="pill"> disabled</span>}
                    </td>
                    <td>{when(s)}</td>
                    <td title={dateTime(s.lastSentAt)}>{s.lastSentAt ? ago(s.lastSentAt) : <span class="muted">never</span>}</td>
                    <td>
                      <span class="mono">{s.destination.url}</span> <span class="pill">{s.destination.format}</span>
                    </td>
                    <td>
                      <div class="actions">
                        <button type="button" class="btn small" disabled={busy} onClick={() => void sendNow(s)}>
                          Send now
                        </button>
                        <button type="button" class="btn small" aria-expanded={open === s.id} onClick={() => setOpen(open === s.id ? null : s.id)}>
                          Deliveries
                        </button>
                        {confirming === s.id ? (
                          <>
                            <button type="button" class="btn small danger" disabled={busy} onClick={() => void remove(s.id)}>
                              Confirm delete
                            </button>
                            <button type="button" class="btn small" onClick={() => setConfirming(null)}>
                              Cancel
                            </button>
                          </>
                        ) : (
                          <button type="button" class="btn small danger" aria-label={`Delete ${s.name}`} onClick={() => setConfirming(s.id)}>
                            Delete
                          </button>
                        )}
                      </div>
                    </td>
                  </tr>,
                  open === s.id && (
                    <tr key={`${s.id}-deliveries`} class="subrow">
                      <td colSpan={5} aria-label={`Deliveries of ${s.name}`}>
                        <DeliveryLog path={`${base}/${encodeURIComponent(s.id)}/deliveries`} reload={reload} />
                      </td>
                    </tr>
                  ),
                ])}
              </tbody>
            </table>
          </div>
        )}
        {creating ? (
          <ScheduleForm timezone={timezone} errors={fieldErrors(formError)} busy={busy} onSubmit={(input) => void create(input)} onCancel={() => (setCreating(false), setFormError(null))} />
        ) : (
          <div style={{ marginTop: '12px' }}>
            <button type="button" class="btn primary" disabled={full} onClick={() => (setCreating(true), setFormError(null))}>
              New scheduled report
            </button>
            {full && <span class="muted"> at most {LIMITS.schedulesMax} schedules a workspace</span>}
          </div>
        )}
      </Panel>
    </div>
  );
}
