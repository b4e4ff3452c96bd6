import type { ComponentChildren } from 'preact';
import { href, location, navigate, route } from '../router';
import { session, signOut } from '../session';

export const Logo = () => (
  <svg viewBox="0 0 24 24" aria-hidden="true">
    <rect width="24" height="24" rx="6" fill="var(--accent)" />
    <path d="M4 13h3.5l2.5-7 4 12 2.5-5H20" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
  </svg>
);

/** Reports and the event log share range and filters: switching between them keeps them. */
function sharedView(): string {
  if (route.value.name !== 'reports' && route.value.name !== 'events') return '';
  const p = new URLSearchParams(location.value.search);
  for (const k of ['cursor', 'errorsOnly', 'by']) p.delete(k);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const SECTIONS = [
  { name: 'live', label: 'Live', to: href.live },
  { name: 'reports', label: 'Reports', to: (ws: string) => href.reports(ws, sharedView()) },
  { name: 'events', label: 'Events', to: (ws: string) => href.events(ws, sharedView()) },
  { name: 'settings', label: 'Settings', to: href.settings, admin: true },
] as const;

export function Layout({ ws, children }: { ws?: string; children: ComponentChildren }) {
  const s = session.value;
  const current = route.value.name;
  const admin = s?.kind === 'admin' || s?.kind === 'root';
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={s?.kind === 'root' || !ws ? '/' : href.live(ws)} aria-label="edgepulse home">
          <Logo /> edgepulse
        </a>
        {ws && (
          <nav class="nav" aria-label="Workspace">
            {SECTIONS.filter((x) => !('admin' in x) || admin).map((x) => (
              <a key={x.name} href={x.to(ws)} aria-current={current === x.name || (x.name === 'live' && current === 'room') || (x.name === 'reports' && current === 'user') ? 'page' : undefined}>
                {x.label}
              </a>
            ))}
          </nav>
        )}
        <span class="spacer" />
        <span class="who">
          {ws && <span class="pill" title="workspace">{ws}</span>}
          {s && <span>{s.kind === 'root' ? 'root' : `${s.kind} key`}</span>}
          {s?.kind === 'root' && ws && <a href="/">All workspaces</a>}
          <button
            type="button"
            class="btn small"
            onClick={async () => {
              await signOut();
              navigate('/');
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
