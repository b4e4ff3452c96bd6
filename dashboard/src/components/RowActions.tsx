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
      {p.confirming ? (
        <>
          <button type="button" class="btn small danger" disabled={p.busy} onClick={p.onDelete}>
            Confirm delete
          </button>
          <button type="button" class="btn small" onClick={p.onCancelDelete}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" class="btn small danger" aria-label={`Delete ${p.name}`} onClick={p.onAskDelete}>
          Delete
        </button>
      )}
    </div>
  );
}
