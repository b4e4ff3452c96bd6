import { computed, signal } from '@preact/signals';
import { share } from './share';

/** The current location; the view reads path and query from here, so a link reproduces it. */
export const location = signal({ path: window.location.pathname, search: window.location.search });

export function navigate(to: string, replace = false): void {
  const url = new URL(to, window.location.origin);
  if (url.pathname + url.search === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  location.value = { path: url.pathname, search: url.search };
  if (!replace) window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => {
  location.value = { path: window.location.pathname, search: window.location.search };
});

// Plain <a href="/…"> links navigate inside the app (new tabs and downloads keep working).
document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('/api/') || a.target || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(href);
});

export const query = computed(() => new URLSearchParams(location.value.search));

export type Route =
  | { name: 'home' }
  | { name: 'live'; ws: string }
  | { name: 'room'; ws: string; room: string }
  | { name: 'reports'; ws: string }
  | { name: 'user'; ws: string; userId: string }
  | { name: 'events'; ws: string }
  | { name: 'settings'; ws: string }
  /** A page a share link may not show (the event log, a user, settings). */
  | { name: 'notShared'; ws: string }
  | { name: 'notFound' };

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export const route = computed<Route>(() => {
  const parts = location.value.path.split('/').filter(Boolean).map(decodePart);
  if (parts.length === 0) return { name: 'home' };
  if (parts[0] === 's' && parts[1]) {
    // `/s/<token>/…`: the share's own workspace, and only the aggregate pages.
    const ws = share.value?.info.workspace.slug ?? '';
    const [section, arg] = parts.slice(2);
    if (!section) return { name: 'live', ws };
    if (section === 'rooms' && arg) return { name: 'room', ws, room: arg };
    if (section === 'reports') return { name: 'reports', ws };
    return { name: 'notShared', ws };
  }
  if (parts[0] !== 'w' || !parts[1]) return { name: 'notFound' };
  const ws = parts[1];
  const [section, arg] = parts.slice(2);
  if (!section) return { name: 'live', ws };
  if (section === 'rooms' && arg) return { name: 'room', ws, room: arg };
  if (section === 'users' && arg) return { name: 'user', ws, userId: arg };
  if (section === 'reports' || section === 'events' || section === 'settings') return { name: section, ws };
  return { name: 'notFound' };
});

/** A workspace's pages start here; a share link's stay under its own `/s/<token>` so every link stays inside the share. */
const base = (ws: string) => (share.value ? `/s/${encodeURIComponent(share.value.token)}` : `/w/${encodeURIComponent(ws)}`);

export const href = {
  live: (ws: string) => base(ws),
  room: (ws: string, room: string) => `${base(ws)}/rooms/${encodeURIComponent(room)}`,
  reports: (ws: string, search = '') => `${base(ws)}/reports${search}`,
  user: (ws: string, userId: string) => `${base(ws)}/users/${encodeURIComponent(userId)}`,
  events: (ws: string, search = '') => `${base(ws)}/events${search}`,
  settings: (ws: string) => `${base(ws)}/settings`,
};
