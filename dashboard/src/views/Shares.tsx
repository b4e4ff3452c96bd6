import { useEffect, useState } from 'preact/hooks';
import { api, get, wsPath } from '../api';
import type { Share, ShareCreated, ShareList } from '../api-types';
import { Code, ErrorNote, Loading, Panel } from '../components/Ui';
import { dateTime } from '../format';
import { LIMITS } from '../../../src/shared/limits';
import { ConfirmAction } from '../components/ConfirmAction';

const expired = (s: Share) => s.expiresAt !== null && Date.parse(s.expiresAt) <= Date.now();

/** A `datetime-local` value (the browser's time zone) as ISO; empty: no expiry. */
function expiryIso(local: string): string | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? local : new Date(t).toISOString();
}

/** Settings → Share links: read-only links to the live view and reports, the URL shown once, revoking. */
export function ShareLinks({ ws }: { ws: string }) {
  const base = `${wsPath(ws)}/shares`;
  const [shares, setShares] = useState<Share[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [created, setCreated] = useState<ShareCreated | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const load = () => get<ShareList>(base).then((r) => setShares(r.shares), setError);
  useEffect(() => void load(), [ws]);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const expiry = expiryIso(expiresAt);
      setCreated(await api<ShareCreated>('POST', base, { ...(name.trim() ? { name: name.trim() } : {}), ...(expiry ? { expiresAt: expiry } : {}) }));
      setName('');
      setExpiresAt('');
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await api('DELETE', `${base}/${encodeURIComponent(id)}`);
      setConfirming(null);
      if (created?.share.id === id) setCreated(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Panel title="Share links" hint="read-only, aggregates only; the link is shown once" class="span-2" testid="shares">
      {created && (
        <div style={{ marginBottom: '12px' }} data-testid="new-share">
          <p class="ok-text" style={{ margin: '0 0 6px' }}>
            Share link “{created.share.name ?? created.share.id}”. Copy it now: it will not be shown again. Anyone with it sees live numbers and reports, never events or users.
          </p>
          <Code text={created.url} label="new share link" />
          <button type="button" class="btn small" style={{ marginTop: '6px' }} onClick={() => setCreated(null)}>
            I have saved it
          </button>
        </div>
      )}
      {!shares ? (
        <Loading />
      ) : shares.length === 0 ? (
        <p class="empty-small">No share links yet</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="shares-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Created</th>
                <th>Expires</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shares.map((s) => (
                <tr key={s.id} data-share-id={s.id}>
                  <td>{s.name ?? <span class="muted">unnamed</span>}</td>
                  <td>{dateTime(s.createdAt)}</td>
                  <td>{s.expiresAt === null ? <span class="muted">never</span> : expired(s) ? <span class="pill bad">expired {dateTime(s.expiresAt)}</span> : dateTime(s.expiresAt)}</td>
                  <td class="num">
                    <ConfirmAction verb="Revoke" name={s.name ?? s.id} confirming={confirming === s.id} onAsk={() => setConfirming(s.id)} onCancel={() => setConfirming(null)} onConfirm={() => revoke(s.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="row" style={{ marginTop: '12px' }} onSubmit={create} aria-label="Create a share link">
        <div class="field" style={{ flex: 1, minWidth: '160px' }}>
          <label for="share-name">Name</label>
          <input id="share-name" value={name} maxLength={LIMITS.shareNameMaxLength} placeholder="e.g. team TV, investors" onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="share-expires">Expires (optional)</label>
          <input id="share-expires" type="datetime-local" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit" disabled={shares !== null && shares.length >= LIMITS.sharesMax}>
          Create share link
        </button>
      </form>
      <ErrorNote error={error} />
    </Panel>
  );
}
