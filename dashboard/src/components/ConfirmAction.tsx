/** A destructive action asked twice: its button, then "Confirm …" beside "Cancel". */
export function ConfirmAction(props: {
  /** The action's verb: "Revoke", "Delete". */
  verb: string;
  /** What it acts on, for screen readers: "Revoke office key". */
  name: string;
  confirming: boolean;
  busy?: boolean;
  onAsk: () => void;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const p = props;
  if (!p.confirming) {
    return (
      <button type="button" class="btn small danger" onClick={p.onAsk} aria-label={`${p.verb} ${p.name}`}>
        {p.verb}
      </button>
    );
  }
  return (
    <>
      <button type="button" class="btn small danger" disabled={p.busy} onClick={p.onConfirm}>
        Confirm {p.verb.toLowerCase()}
      </button>{' '}
      <button type="button" class="btn small" onClick={p.onCancel}>
        Cancel
      </button>
    </>
  );
}
