import { ConfirmAction } from './ConfirmAction';

/** The action buttons of one alert rule or scheduled report: send, deliveries, edit, enable/disable, delete after a confirm. */
export function RowActions(props: {
  name: string;
  sendLabel: string;
  enabled: boolean;
  busy: boolean;
  deliveriesOpen: boolean;
  confirming: boolean;
  onSend: () => void;
  onToggleDeliveries: () => void;
  onEdit: () => void;
  onToggleEnabled: () => void;
  onAskDelete: () => void;
  onCancelDelete: () => void;
  onDelete: () => void;
}) {
  const p = props;
  return (
    <div class="actions">
      <button type="button" class="btn small" disabled={p.busy} onClick={p.onSend}>
        {p.sendLabel}
      </button>
      <button type="button" class="btn small" aria-expanded={p.deliveriesOpen} onClick={p.onToggleDeliveries}>
        Deliveries
      </button>
      <button type="button" class="btn small" onClick={p.onEdit}>
        Edit
      </button>
      <button type="button" class="btn small" disabled={p.busy} onClick={p.onToggleEnabled}>
        {p.enabled ? 'Disable' : 'Enable'}
      </button>
      <ConfirmAction verb="Delete" name={p.name} confirming={p.confirming} busy={p.busy} onAsk={p.onAskDelete} onCancel={p.onCancelDelete} onConfirm={p.onDelete} />
    </div>
  );
}
