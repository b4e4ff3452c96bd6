import { RowActions } from '../components/RowActions';
import { useEffect, useState } from 'preact/hooks';
import { api, get, wsPath } from '../api';
import type { Schedule, ScheduleInput } from '../api-types';
import { ErrorNote, Loading, Panel } from '../components/Ui';
import { ScheduleForm, when } from '../components/ScheduleForm';
import { DeliveryLog, DestinationCell, fieldErrors, NewSecret } from '../components/Webhooks';
import { ago, dateTime } from '../format';
import { LIMITS } from '../../../src/shared/limits';

/** Settings → Scheduled reports: daily or weekly summaries posted at the workspace's local hour. */
export function Schedules({ ws, timezone }: { ws: string; timezone?: string }) {
  const base = `${wsPath(ws)}/schedules`;
  const [list, setList] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
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
  const save = (id: string, input: ScheduleInput) =>
    run(async () => {
      await api('PATCH', `${base}/${encodeURIComponent(id)}`, input);
      setEditing(null);
      setFormError(null);
    }, setFormError);
  const toggle = (s: Schedule) => run(() => api('PATCH', `${base}/${encodeURIComponent(s.id)}`, { enabled: !s.enabled }));
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
                  <tr key={s.id} data-schedule-id={s.id} data-enabled={String(s.enabled)}>
                    <td>
                      <strong>{s.name}</strong> {!s.enabled && <span class="pill">disabled</span>}
                    </td>
                    <td>{when(s)}</td>
                    <td title={dateTime(s.lastSentAt)}>{s.lastSentAt ? ago(s.lastSentAt) : <span class="muted">never</span>}</td>
                    <td>
                      <DestinationCell destination={s.destination} />
                    </td>
                    <td>
                      <RowActions
                        name={s.name}
                        sendLabel="Send now"
                        enabled={s.enabled}
                        busy={busy}
                        deliveriesOpen={open === s.id}
                        confirming={confirming === s.id}
                        onSend={() => void sendNow(s)}
                        onToggleDeliveries={() => setOpen(open === s.id ? null : s.id)}
                        onEdit={() => (setEditing(editing === s.id ? null : s.id), setCreating(false), setFormError(null))}
                        onToggleEnabled={() => void toggle(s)}
                        onAskDelete={() => setConfirming(s.id)}
                        onCancelDelete={() => setConfirming(null)}
                        onDelete={() => void remove(s.id)}
                      />
                    </td>
                  </tr>,
                  editing === s.id && (
                    <tr key={`${s.id}-edit`} class="subrow">
                      <td colSpan={5}>
                        <ScheduleForm schedule={s} timezone={timezone} errors={fieldErrors(formError)} busy={busy} onSubmit={(input) => void save(s.id, input)} onCancel={() => setEditing(null)} />
                      </td>
                    </tr>
                  ),
                  open === s.id && (
                    <tr key={`${s.id}-deliveries`} class="subrow">
                      <td colSpan={5} aria-label={`Deliveries of ${s.name}`}>
                        <DeliveryLog path={`${base}/${encodeURIComponent(s.id)}/deliveries`} reload={reload} empty="No deliveries yet. “Send now” posts the report of the last full period." />
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
            <button type="button" class="btn primary" disabled={full} onClick={() => (setCreating(true), setEditing(null), setFormError(null))}>
              New scheduled report
            </button>
            {full && <span class="muted"> at most {LIMITS.schedulesMax} schedules a workspace</span>}
          </div>
        )}
      </Panel>
    </div>
  );
}
