import { useEffect, useState } from 'preact/hooks';
import { api, get, wsPath } from '../api';
import type { ApiKey, KeyKind } from '../api-types';
import { Code, ErrorNote, Loading, Panel } from '../components/Ui';
import { dateTime } from '../format';
import { ConfirmAction } from '../components/ConfirmAction';

/** Settings → Keys: the workspace's keys, a new one shown once, revoking. */
export function Keys({ ws }: { ws: string }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [kind, setKind] = useState<KeyKind>('ingest');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ key: ApiKey; secret: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const load = () => get<{ keys: ApiKey[] }>(`${wsPath(ws)}/keys`).then((r) => setKeys(r.keys), setError);
  useEffect(() => void load(), [ws]);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setSecret(await api<{ key: ApiKey; secret: string }>('POST', `${wsPath(ws)}/keys`, { kind, ...(name.trim() ? { name: name.trim() } : {}) }));
      setName('');
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await api('DELETE', `${wsPath(ws)}/keys/${encodeURIComponent(id)}`);
      setConfirming(null);
      if (secret?.key.id === id) setSecret(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Panel title="Keys" hint="secrets are shown once, when created" class="span-2" testid="keys">
      {secret && (
        <div style={{ marginBottom: '12px' }} data-testid="new-secret">
          <p class="ok-text" style={{ margin: '0 0 6px' }}>
            New {secret.key.kind} key “{secret.key.name ?? secret.key.prefix}”. Copy it now: it will not be shown again.
          </p>
          <Code text={secret.secret} label="new key secret" />
          <button type="button" class="btn small" style={{ marginTop: '6px' }} onClick={() => setSecret(null)}>
            I have saved it
          </button>
        </div>
      )}
      {!keys ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table data-testid="keys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Prefix</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key-id={k.id}>
                  <td>{k.name ?? <span class="muted">unnamed</span>}</td>
                  <td>
                    <span class="pill">{k.kind}</span>
                  </td>
                  <td class="mono">{k.prefix}…</td>
                  <td>{dateTime(k.createdAt)}</td>
                  <td class="num">
                    <ConfirmAction verb="Revoke" name={k.name ?? k.prefix} confirming={confirming === k.id} onAsk={() => setConfirming(k.id)} onCancel={() => setConfirming(null)} onConfirm={() => revoke(k.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form class="row" style={{ marginTop: '12px' }} onSubmit={create} aria-label="Create a key">
        <div class="field">
          <label for="key-kind">Kind</label>
          <select id="key-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as KeyKind)}>
            <option value="ingest">ingest (pk_) — send events, safe in a web page</option>
            <option value="read">read (rk_) — dashboards and reports</option>
            <option value="admin">admin (sk_) — settings and keys</option>
          </select>
        </div>
        <div class="field" style={{ flex: 1, minWidth: '160px' }}>
          <label for="key-name">Name</label>
          <input id="key-name" value={name} maxLength={200} placeholder="e.g. website, backend, Grafana" onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button class="btn primary" type="submit">
          Create key
        </button>
      </form>
      <ErrorNote error={error} />
    </Panel>
  );
}
