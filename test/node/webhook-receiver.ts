import { createServer, type IncomingMessage, type Server } from 'node:http';

/** One request the receiver got, as it came (the body unparsed, so signatures can be checked on it). */
export interface ReceivedHook {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
  /** The status it answered. */
  answered: number;
}

/**
 * A real HTTP receiver for outgoing webhooks, in Node. What it answers is set per path, in the URL:
 * `/<box>?fail=N` answers 500 to the first N requests of that box, then 200; `&status=S` answers S
 * always; `&delayMs=D` waits D ms before answering. `GET /_log/<box>` returns what the box received.
 */
export async function startWebhookReceiver(): Promise<{ url: string; server: Server; received: Map<string, ReceivedHook[]> }> {
  const received = new Map<string, ReceivedHook[]>();
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'GET' && url.pathname.startsWith('/_log/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(received.get(url.pathname.slice('/_log'.length)) ?? []));
      return;
    }
    const body = await readBody(req);
    const box = url.pathname;
    const list = received.get(box) ?? [];
    received.set(box, list);
    const fail = Number(url.searchParams.get('fail') ?? 0);
    const status = Number(url.searchParams.get('status') ?? 0) || (list.length < fail ? 500 : 200);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    list.push({ path: box, headers, body, at: Date.now(), answered: status });
    const delayMs = Number(url.searchParams.get('delayMs') ?? 0);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (res.destroyed) return;
    res.statusCode = status;
    res.end(status < 300 ? 'ok' : 'no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, received };
}
