import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';

export const ROOT = () => env.ADMIN_TOKEN;

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** The edge's request metadata (`request.cf`), e.g. `{ country: 'DE' }`. */
  cf?: Record<string, unknown>;
  /** Where the request is sent (default http://edgepulse.test); http://localhost is "running locally". */
  origin?: string;
}

/** One request through the real Worker (Hono app, D1, Durable Objects). */
export async function call(method: string, path: string, opts: CallOptions = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await exports.default.fetch(`${opts.origin ?? 'http://edgepulse.test'}${path}`, { method, headers, body, cf: opts.cf } as RequestInit);
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

export interface TestWorkspace {
  slug: string;
  id: string;
  keys: { ingest: string; read: string; admin: string };
}

let counter = 0;
export async function createWorkspace(prefix = 'ws', extra: Record<string, unknown> = {}): Promise<TestWorkspace> {
  const slug = `${prefix}-${Date.now().toString(36)}-${counter++}`;
  const res = await call('POST', '/api/v1/workspaces', { token: ROOT(), body: { slug, ...extra } });
  if (res.status !== 201) throw new Error(`create workspace: ${res.status} ${res.text}`);
  const row = await env.DB.prepare('SELECT id FROM workspaces WHERE slug = ?').bind(slug).first<{ id: string }>();
  return { slug, id: row!.id, keys: res.json.keys };
}

export function hub(workspaceId: string) {
  return env.WORKSPACE_HUB.get(env.WORKSPACE_HUB.idFromName(workspaceId));
}

/** Drains the workspace's outbox into D1 now instead of waiting for the alarm. */
export async function flush(ws: TestWorkspace): Promise<number> {
  return hub(ws.id).flush();
}

export async function countRows(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql).bind(...binds).first<{ n: number }>();
  return row?.n ?? 0;
}

export const makeEvents = (n: number, prefix: string, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'test.event', userId: `u${i % 7}`, ...extra }));
