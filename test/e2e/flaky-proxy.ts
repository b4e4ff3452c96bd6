import { createServer, type IncomingMessage, type Server } from 'node:http';
import { freePort } from './server';

export interface ProxyRequest {
  /** Arrival order (the list itself is in order of completion). */
  n: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** What the client was answered. */
  status: number;
  forwarded: boolean;
}

/**
 * Decides per request (0-based index among requests to matching paths): forward it, or answer `status`
 * without forwarding, or forward it and still answer `status` (a lost acknowledgement).
 */
export type Plan = (index: number, req: { method: string; path: string }) =>
  | { action: 'forward'; delayMs?: number }
  | { action: 'fail'; status: number; headers?: Record<string, string>; forward?: boolean };

/** A small HTTP proxy in front of the dev server that fails the first tries as told. */
export async function startFlakyProxy(target: string, plan: Plan, matches: (path: string) => boolean = () => true) {
  const port = await freePort();
  const seen: ProxyRequest[] = [];
  let index = 0;
  let arrivals = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const n = arrivals++;
    const decision = matches(path) ? plan(index++, { method: req.method ?? 'GET', path }) : { action: 'forward' as const };
    const forward = async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
      return fetch(`${target}${path}`, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body });
    };
    try {
      if (decision.action === 'fail') {
        if (decision.forward) await (await forward()).arrayBuffer();
        seen.push({ n, method: req.method ?? '', path, headers: req.headers, body, status: decision.status, forwarded: Boolean(decision.forward) });
        res.writeHead(decision.status, { 'content-type': 'application/json', ...(decision.headers ?? {}) });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'flaky proxy says no' } }));
        return;
      }
      if (decision.delayMs) await new Promise((r) => setTimeout(r, decision.delayMs));
      const upstream = await forward();
      const text = await upstream.text();
      seen.push({ n, method: req.method ?? '', path, headers: req.headers, body, status: upstream.status, forwarded: true });
      // The answer's rate-limit headers pass through: clients wait as they say.
      const passed = Object.fromEntries(['retry-after', 'x-ratelimit-reset'].flatMap((h) => (upstream.headers.get(h) === null ? [] : [[h, upstream.headers.get(h)!]])));
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', ...passed });
      res.end(text);
    } catch (err) {
      res.writeHead(502);
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls GET …/events until `done` holds (history is written within seconds of a 202). */
export async function readEvents(url: string, slug: string, readKey: string, done: (events: any[]) => boolean, timeoutMs = 20_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  let events: any[] = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/v1/workspaces/${slug}/events?limit=1000`, { headers: { authorization: `Bearer ${readKey}` } });
    events = ((await res.json()) as { events: any[] }).events ?? [];
    if (done(events)) return events;
    await new Promise((r) => setTimeout(r, 300));
  }
  return events;
}
