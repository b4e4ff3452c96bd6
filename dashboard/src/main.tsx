import { signal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout } from './components/Layout';
import { Loading } from './components/Ui';
import { navigate, route, type Route } from './router';
import { loadSession, session } from './session';
import './styles.css';
import { Live } from './views/Live';
import { SignIn } from './views/SignIn';
import { Workspaces } from './views/Workspaces';

type ViewProps = { route: Route };

/** A view loaded on first use, so the initial bundle holds only sign-in and the live overview. */
function lazyView(load: () => Promise<{ default: ComponentType<ViewProps> }>): ComponentType<ViewProps> {
  const loaded = signal<ComponentType<ViewProps> | null>(null);
  let started = false;
  return (props: ViewProps) => {
    if (!started) {
      started = true;
      void load().then((m) => (loaded.value = m.default));
    }
    const View = loaded.value;
    return View ? <View {...props} /> : <Loading />;
  };
}

const Room = lazyView(() => import('./views/Room'));
const Reports = lazyView(() => import('./views/Reports'));
const User = lazyView(() => import('./views/User'));
const Events = lazyView(() => import('./views/Events'));
const Settings = lazyView(() => import('./views/Settings'));

function App() {
  const s = session.value;
  const r = route.value;
  useEffect(() => {
    // A key signs into its own workspace: send it there from the home page or another workspace's path.
    if (s && s.kind !== 'root' && s.workspace && ('ws' in r ? r.ws !== s.workspace.slug : true)) {
      navigate(`/w/${encodeURIComponent(s.workspace.slug)}`, true);
    }
  }, [s, r]);
  useEffect(() => {
    document.title = 'ws' in r ? `${r.name === 'live' ? 'Live' : r.name[0].toUpperCase() + r.name.slice(1)} · ${r.ws} · edgepulse` : 'edgepulse';
  }, [r]);

  if (s === undefined) return <div class="center"><Loading /></div>;
  if (s === null) return <SignIn />;
  if (r.name === 'home') return s.kind === 'root' ? <Layout><Workspaces /></Layout> : <div class="center"><Loading /></div>;
  if (r.name === 'notFound') {
    return (
      <Layout>
        <div class="empty">
          <h2>Nothing here</h2>
          <p>
            This page does not exist. <a href="/">Go home</a>.
          </p>
        </div>
      </Layout>
    );
  }
  const views = { live: Live, room: Room, reports: Reports, user: User, events: Events, settings: Settings } as const;
  const View = views[r.name] as ComponentType<ViewProps>;
  return (
    <Layout ws={r.ws}>
      <View key={r.name === 'room' ? `${r.ws}/${r.room}` : r.ws} route={r} />
    </Layout>
  );
}

const root = document.getElementById('app')!;
render(<App />, root);
loadSession().catch((err) => {
  root.textContent = `Could not reach the API: ${err instanceof Error ? err.message : err}`;
});
