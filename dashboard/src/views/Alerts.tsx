import { RowActions } from '../components/RowActions';
import { useEffect, useRef, useState } from 'preact/hooks';
import { METRICS } from '../alert-metrics';
import { api, get, wsPath } from '../api';
import type { Alert, AlertInput } from '../api-types';
import { AlertForm } from '../components/AlertForm';
import { ErrorNote, Loading, Panel } from '../components/Ui';
import { DeliveryLog, DestinationCell, fieldErrors, NewSecret } from '../components/Webhooks';
import { ago, dateTime } from '../format';
import { LIMITS } from '../../../src/shared/limits';

/** How often the list asks again for the rules' states (the hub re-evaluates every few seconds). */
const STATE_POLL_MS = 10_000;

function describe(a: Alert): string {
  const m = METRICS[a.metric];
  const what = a.metric === 'gauge' ? `Gauge ${a.filter.gauge ?? ''}` : m.label;
  const where = [a.filter.type && `type ${a.filter.type}`, a.filter.room && `room ${a.filter.room}`].filter(Boolean).join(', ');
  return `${what}${where ? ` (${where})` : ''} ${a.op} ${m.show(a.threshold)} over ${a.windowMinutes} min${a.forMinutes ? `, for ${a.forMinutes} min` : ''}`;
}

function StateCell({ a }: { a: Alert }) {
  if (!a.enabled) return <span class="pill">disabled</span>;
  return (
    <>
      <span class={a.state === 'firing' ? 'pill bad' : 'pill good'} data-testid="alert-state">
        {a.state}
      </span>
      {a.since && (
        <span class="muted" title={dateTime(a.since)}>
          {' '}
          since {ago(a.since)}
        </span>
      )}
      {a.state === 'firing' && a.value !== null && <div class="muted">value {METRICS[a.metric].show(a.value)}</div>}
    </>
  );
}

/** Settings → Alerts: the workspace's rules with their state, their forms, tests and delivery logs. */
export function Alerts({ ws }: { ws: string }) {
  const base = `${wsPath(ws)}/alerts`;
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
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
  const section = useRef<HTMLDivElement>(null);

  const load = () => get<{ alerts: Alert[] }>(base).then((r) => (setAlerts(r.alerts), setError(null)), setError);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), STATE_POLL_MS);
    return () => clearInterval(t);
  }, [ws]);
  // The live view's banner links here (…/settings#alerts).
  useEffect(() => {
    if (alerts && window.location.hash === '#alerts') section.current?.scrollIntoView({ block: 'start' });
  }, [alerts !== null]);

  const run = async (what: () => Promise<unknown>, onError: (err: unknown) => void = setError) => {
    setBusy(true);
    setNotice(null);
    try {
      await what();
      await load();
      return true;
    } catch (err) {
      onError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const create = (input: AlertInput) =>
    run(async () => {
      const r = await api<{ alert: Alert; secret: string }>('POST', base, input);
      setSecret({ name: r.alert.name, secret: r.secret });
      setCreating(false);
      setFormError(null);
    }, setFormError);
  const save = (id: string, input: AlertInput) =>
    run(async () => {
      await api('PATCH', `${base}/${encodeURIComponent(id)}`, input);
      setEditing(null);
      setFormError(null);
    }, setFormError);
  const toggle = (a: Alert) => run(() => api('PATCH', `${base}/${encodeURIComponent(a.id)}`, { enabled: !a.enabled }));
  const remove = (id: string) =>
    run(async () => {
      await api('DELETE', `${base}/${encodeURIComponent(id)}`);
      setConfirming(null);
      if (open === id) setOpen(null);
    });
  const test = (a: Alert) =>
    run(async () => {
      await api('POST', `${base}/${encodeURIComponent(a.id)}/test`);
      setOpen(a.id);
      setReload((n) => n + 1);
      setNotice(`Test delivery for “${a.name}” queued`);
    });

  const full = (alerts?.length ?? 0) >= LIMITS.alertRulesMax;
  return (
    <div id="alerts" ref={section} class="span-2">
      <Panel title="Alerts" hint={alerts ? `${alerts.length} of ${LIMITS.alertRulesMax} rules · evaluated on the live numbers` : undefined} testid="alerts">
        {secret && <NewSecret what={`Alert “${secret.name}”`} secret={secret.secret} onDone={() => setSecret(null)} />}
        {notice && (
          <p class="ok-text" role="status">
            {notice}
          </p>
        )}
        <ErrorNote error={error} />
        {!alerts ? (
          <Loading />
        ) : alerts.length === 0 && !creating ? (
          <p class="empty-small">No alert rules yet. Get told when the error rate jumps, latency degrades, traffic stops or a gauge runs hot.</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="alerts-table">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>State</th>
                  <th>Destination</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {alerts.map((a) => [
                  <tr key={a.id} data-alert-id={a.id} data-state={a.enabled ? a.state : 'disabled'}>
                    <td>
                      <strong>{a.name}</strong>
                      <div class="muted">{describe(a)}</div>
                    </td>
                    <td>
                      <StateCell a={a} />
                    </td>
                    <td>
                      <DestinationCell destination={a.destination} />
                    </td>
                    <td>
                      <RowActions
                        name={a.name}
                        sendLabel="Send test"
                        enabled={a.enabled}
                        busy={busy}
                        deliveriesOpen={open === a.id}
                        confirming={confirming === a.id}
                        onSend={() => void test(a)}
                        onToggleDeliveries={() => setOpen(open === a.id ? null : a.id)}
                        onEdit={() => (setEditing(editing === a.id ? null : a.id), setCreating(false), setFormError(null))}
                        onToggleEnabled={() => void toggle(a)}
                        onAskDelete={() => setConfirming(a.id)}
                        onCancelDelete={() => setConfirming(null)}
                        onDelete={() => void remove(a.id)}
                      />
                    </td>
                  </tr>,
                  editing === a.id && (
                    <tr key={`${a.id}-edit`} class="subrow">
                      <td colSpan={4}>
                        <AlertForm alert={a} errors={fieldErrors(formError)} busy={busy} onSubmit={(input) => void save(a.id, input)} onCancel={() => setEditing(null)} />
                      </td>
                    </tr>
                  ),
                  open === a.id && (
                    <tr key={`${a.id}-deliveries`} class="subrow">
                      <td colSpan={4} aria-label={`Deliveries of ${a.name}`}>
                        <DeliveryLog path={`${base}/${encodeURIComponent(a.id)}/deliveries`} reload={reload} empty="No deliveries yet. “Send test” posts one now." />
                      </td>
                    </tr>
                  ),
                ])}
              </tbody>
            </table>
          </div>
        )}
        {creating ? (
          <AlertForm errors={fieldErrors(formError)} busy={busy} onSubmit={(input) => void create(input)} onCancel={() => (setCreating(false), setFormError(null))} />
        ) : (
          <div style={{ marginTop: '12px' }}>
            <button type="button" class="btn primary" disabled={full} onClick={() => (setCreating(true), setEditing(null), setFormError(null))}>
              New alert
            </button>
            {full && <span class="muted"> at most {LIMITS.alertRulesMax} rules a workspace</span>}
          </div>
        )}
      </Panel>
    </div>
  );
}
