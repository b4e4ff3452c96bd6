import { signal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout, Logo } from './components/Layout';
import { Loading } from './components/Ui';
import { href, location, navigate, route, type Route } from './router';
import { loadSession, loadShare, session } from './session';
import { share, shareEnded, shareTokenOf } from './share';
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

/** What an expired or revoked share link shows instead of the sign-in form. */
function ShareEnded() {
  return (
    <div class="center">
      <section class="panel signin" data-testid="share-ended" role="alert" aria-labelledby="share-ended-title">
        <span class="brand">
          <Logo /> edgepulse
        </span>
        <h2 id="share-ended-title">This share link has ended or was revoked</h2>
        <p class="muted" style={{ margin: 0 }}>
          It no longer shows this dashboard. Ask whoever shared it for a new link.
        </p>
      </section>
    </div>
  );
}

const NotShared = () => (
  <div class="empty" data-testid="not-shared">
    <h2>Not part of a shared view</h2>
    <p>
      A share link shows aggregates only: no event log, users or settings. <a href={href.live('')}>Back to live</a>.
    </p>
  </div>
);

const views = { live: Live, room: Room, reports: Reports, user: User, events: Events, settings: Settings } as const;

function WorkspaceView({ r }: { r: Extract<Route, { ws: string }> }) {
  if (r.name === 'notShared') return <NotShared />;
  const View = views[r.name] as ComponentType<ViewProps>;
  return <View key={r.name === 'room' ? `${r.ws}/${r.room}` : r.ws} route={r} />;
}

/** A share link's dashboard: no sign-in, only its workspace's aggregate pages. */
function SharedApp({ r }: { r: Route }) {
  if (shareEnded.value) return <ShareEnded />;
  const sh = share.value;
  if (!sh) return <div class="center"><Loading /></div>;
  return <Layout ws={sh.info.workspace.slug}>{'ws' in r ? <WorkspaceView r={r} /> : <NotShared />}</Layout>;
}

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
    const shared = share.value ? ' (shared)' : '';
    document.title = 'ws' in r ? `${r.name === 'live' ? 'Live' : r.name[0].toUpperCase() + r.name.slice(1)} · ${r.ws}${shared} · edgepulse` : 'edgepulse';
  }, [r]);

  if (share.value || shareEnded.value || shareTokenOf(location.value.path)) return <SharedApp r={r} />;
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
  return (
    <Layout ws={r.ws}>
      <WorkspaceView r={r} />
    </Layout>
  );
}

const root = document.getElementById('app')!;
render(<App />, root);
const shareToken = shareTokenOf(window.location.pathname);
(shareToken ? loadShare(shareToken) : loadSession()).catch((err) => {
  root.textContent = `Could not reach the API: ${err instanceof Error ? err.message : err}`;
});
