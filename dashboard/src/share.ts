import { signal } from '@preact/signals';
import type { ShareInfo } from './api-types';

/**
 * Share mode: the dashboard opened from a share link (`/s/<token>/…`). Set once at start-up from
 * the URL; while set, every API call sends the token as a bearer credential (never the cookie),
 * and views hide what a share may not show (raw events, user ids, the event log, export, settings).
 */
export interface ShareContext {
  token: string;
  info: ShareInfo;
}

export const share = signal<ShareContext | null>(null);

/** True while the dashboard shows a share link: views hide per-user and raw-event parts. */
export const isShared = () => share.value !== null;

/** Set when the share's token stops working (expired or revoked): the page says so instead of signing in. */
export const shareEnded = signal(false);

/** The share token of a `/s/<token>/…` path, or null outside share mode. */
export function shareTokenOf(path: string): string | null {
  const m = /^\/s\/([^/]+)/.exec(path);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}
