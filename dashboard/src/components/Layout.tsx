import type { ComponentChildren } from 'preact';
import { href, location, navigate, route } from '../router';
import { session, signOut } from '../session';
import { share } from '../share';

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
  { name: 'events', label: 'Events', to: (ws: string) => href.events(ws, sharedView()), people: true },
  { name: 'settings', label: 'Settings', to: href.settings, admin: true, people: true },
] as const;

/** A share link's header: no sign-out, no key; a badge names the share. */
function SharedBadge({ name, expiresAt }: { name: string | null; expiresAt: string | null }) {
  return (
    <span class="pill accent" data-testid="shared-badge" title={expiresAt ? `Link works until ${new Date(expiresAt).toLocaleString()}` : 'Link works until revoked'}>
      Shared view · read-only{name ? ` · ${name}` : ''}
    </span>
  );
}

export function Layout({ ws, children }: { ws?: string; children: ComponentChildren }) {
  const s = session.value;
  const sh = share.value;
  const current = route.value.name;
  const admin = s?.kind === 'admin' || s?.kind === 'root';
  // A share link shows aggregates only: no event log (raw events, user ids) and no settings.
  const visible = (x: (typeof SECTIONS)[number]) => (!('admin' in x) || admin) && !(sh && 'people' in x);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={!sh && (s?.kind === 'root' || !ws) ? '/' : href.live(ws ?? '')} aria-label="edgepulse home">
          <Logo /> edgepulse
        </a>
        {ws && (
          <nav class="nav" aria-label="Workspace">
            {SECTIONS.filter(visible).map((x) => (
              <a key={x.name} href={x.to(ws)} aria-current={current === x.name || (x.name === 'live' && current === 'room') || (x.name === 'reports' && current === 'user') ? 'page' : undefined}>
                {x.label}
              </a>
            ))}
          </nav>
        )}
        <span class="spacer" />
        <span class="who">
          {ws && <span class="pill" title="workspace">{sh ? sh.info.workspace.name : ws}</span>}
          {sh && <SharedBadge name={sh.info.share.name} expiresAt={sh.info.share.expiresAt} />}
          {s && !sh && <span>{s.kind === 'root' ? 'root' : `${s.kind} key`}</span>}
          {s?.kind === 'root' && ws && <a href="/">All workspaces</a>}
          {!sh && (
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
          )}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
