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
    share.value = { token, info: await api<ShareInfo>('GET', '/share', undefined, token) };
  } catch (err) {
    if (err instanceof ApiFailure && err.status >= 400 && err.status < 500) shareEnded.value = true;
    else throw err;
  }
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
