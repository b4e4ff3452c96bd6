import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../api';
import type { Workspace } from '../api-types';
import { Code, ErrorNote, Loading } from '../components/Ui';
import { dateTime } from '../format';
import { href, navigate } from '../router';

/** The root token's home: every workspace, and a form to create one. */
export function Workspaces() {
  const [list, setList] = useState<Workspace[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [slug, setSlug] = useState('');
  const [created, setCreated] = useState<{ slug: string; keys: Record<string, string> } | null>(null);
  const load = () => get<{ workspaces: Workspace[] }>('/workspaces').then((r) => setList(r.workspaces), setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ workspace: Workspace; keys: Record<string, string> }>('POST', '/workspaces', { slug: slug.trim() });
      setCreated({ slug: r.workspace.slug, keys: r.keys });
      setSlug('');
      void load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Workspaces</h1>
        <span class="sub">{list ? `${list.length} in total` : ''}</span>
      </div>
      <div class="grid cols-2">
        <section class="panel span-2" aria-label="Workspaces">
          {!list ? (
            <Loading />
          ) : list.length === 0 ? (
            <p class="empty-small">No workspaces yet. Create one below.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Workspace</th>
                    <th>Name</th>
                    <th>Time zone</th>
                    <th class="num">Retention</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((w) => (
                    <tr key={w.slug}>
                      <td>
                        <a href={href.live(w.slug)}>{w.slug}</a>
                      </td>
                      <td>{w.name}</td>
                      <td>{w.timezone}</td>
                      <td class="num">{w.retentionDays} days</td>
                      <td>{dateTime(w.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <form class="panel" onSubmit={create} aria-label="Create a workspace">
          <header>
            <h2>Create a workspace</h2>
          </header>
          <div class="row">
            <div class="field" style={{ flex: 1 }}>
              <label for="slug">Slug</label>
              <input id="slug" value={slug} pattern="[a-z0-9][a-z0-9\-]{1,62}" placeholder="my-app" onInput={(e) => setSlug(e.currentTarget.value)} required />
            </div>
            <button class="btn primary" type="submit">
              Create
            </button>
          </div>
          <ErrorNote error={error} />
        </form>
        {created && (
          <section class="panel" aria-label="New keys">
            <header>
              <h2>Keys of “{created.slug}” — shown this once</h2>
              <button class="btn small" type="button" onClick={() => navigate(href.live(created.slug))}>
                Open
              </button>
            </header>
            <Code text={Object.entries(created.keys).map(([k, v]) => `${k.padEnd(7)} ${v}`).join('\n')} label="new keys" />
          </section>
        )}
      </div>
    </>
  );
}
