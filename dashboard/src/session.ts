import { signal } from '@preact/signals';
import { api, ApiFailure, whenUnauthorized } from './api';
import type { Session, SessionBody } from './api-types';

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
