import type { ErrorBody, ErrorIssue } from './api-types';
import { share, shareEnded } from './share';

/** An API answer that was not 2xx, with the contract's error code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ErrorIssue[] = [],
  ) {
    super(message);
  }
}

/** Called when any request answers 401: the session ended (signed out elsewhere, key revoked). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}
/** For requests made outside `api()` (the live snapshot) that learn the session (or the share link) is gone. */
export const sessionEnded = () => {
  if (share.value) shareEnded.value = true;
  else onUnauthorized();
};

/** The credential of a request: a share link's token as a bearer (never the cookie), else the session cookie. */
export function authorize(bearer = share.value?.token): { credentials: RequestCredentials; headers: Record<string, string> } {
  return bearer ? { credentials: 'omit', headers: { authorization: `Bearer ${bearer}` } } : { credentials: 'same-origin', headers: {} };
}

/** Same-origin JSON request with the session cookie, or the share token while shared (`bearer` before it is known). */
export async function api<T>(method: string, path: string, body?: unknown, bearer = share.value?.token): Promise<T> {
  const auth = authorize(bearer);
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: auth.credentials,
    headers: body === undefined ? auth.headers : { ...auth.headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as ErrorBody | undefined)?.error;
    if (res.status === 401 && bearer) shareEnded.value = true;
    else if (res.status === 401 && !path.startsWith('/session')) onUnauthorized();
    throw new ApiFailure(res.status, err?.code ?? 'internal', err?.message ?? `${res.status} ${res.statusText}`, err?.issues ?? []);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** Query string from a record, dropping empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

export const wsPath = (ws: string) => `/workspaces/${encodeURIComponent(ws)}`;
