import { signal } from '@preact/signals';
import { api, ApiFailure, whenUnauthorized } from './api';
import type { Session, SessionBody, ShareInfo } from './api-types';
import { share, shareEnded } from './share';

/** undefined while loading; null when signed out. */
export const session = signal<Session | null | undefined>(undefined);

whenUnauthorized(() => {
  session.value = null;
});

export async function loadSession(): Promise<void> {
  try {
    session.value = (await api<SessionBody>('GET', '/session')).session;
  } catch (err) {
    if (err instanceof ApiFailure && (err.status === 401 || err.status === 403)) session.value = null;
    else throw err;
  }
}

/** Share mode's start-up: the token from the URL is the credential; an expired or revoked one ends the share. */
export async function loadShare(token: string): Promise<void> {
  try {
    const info = await api<ShareInfo>('GET', '/share', undefined, token);
    share.value = { token, info };
    if (info.share.expiresAt) endAtExpiry(token, Date.parse(info.share.expiresAt));
  } catch (err) {
    if (err instanceof ApiFailure && err.status >= 400 && err.status < 500) shareEnded.value = true;
    else throw err;
  }
}

/** Rechecks when a share link's expiry comes (the server's clock decides: a 401 ends the page). */
function endAtExpiry(token: string, expiresAt: number): void {
  const wait = Math.min(Math.max(0, expiresAt - Date.now()) + 1_000, 2 ** 31 - 1);
  setTimeout(() => {
    api<ShareInfo>('GET', '/share', undefined, token).then(
      () => endAtExpiry(token, Math.max(expiresAt, Date.now() + 30_000)),
      () => shareEnded.value || endAtExpiry(token, Date.now() + 30_000),
    );
  }, wait);
}

export async function signIn(key: string): Promise<Session> {
  const s = (await api<SessionBody>('POST', '/session', { key })).session;
  session.value = s;
  return s;
}

export async function signOut(): Promise<void> {
  await api('DELETE', '/session').catch(() => undefined);
  session.value = null;
}

export const isAdmin = () => session.value?.kind === 'admin' || session.value?.kind === 'root';
