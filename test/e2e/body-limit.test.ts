import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, startDevServer, type DevServer } from './server';

// A body over 1 MiB sent chunked (no Content-Length) is refused with 413 as it streams in; the
// Worker reads the rest of it instead of cancelling, because a half-read body made wrangler dev's
// proxy answer the next request "503 Your worker restarted mid-request".
let server: DevServer;
let keys: { ingest: string; read: string };

beforeAll(async () => {
  server = await startDevServer();
  keys = (await createWorkspace(server, 'bodies')).keys;
});
afterAll(async () => {
  await server?.stop();
});

/** POSTs `bytes` of JSON-looking text with Transfer-Encoding: chunked, 64 KiB a chunk, as a streaming client does. */
function postChunked(bytes: number): Promise<{ status: number; body: string }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/api/v1/workspaces/bodies/events', headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const sendEvent = (id: string) =>
  fetch(`${server.url}/api/v1/workspaces/bodies/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, type: 'after.oversized' }),
    signal: AbortSignal.timeout(20_000),
  });

describe('an oversized chunked body under wrangler dev', () => {
  it('answers 413, and the requests after it (new connections, and POSTs) succeed', async () => {
    for (const [round, size] of [2 * 1024 * 1024, 5 * 1024 * 1024].entries()) {
      const big = await postChunked(size);
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body).error.code).toBe('payload_too_large');
      // What used to fail: the very next POST, from another client.
      for (let i = 0; i < 3; i++) {
        const res = await sendEvent(`after-${round}-${i}`);
        expect(res.status, await res.clone().text()).toBe(202);
        expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
      }
      const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(20_000) });
      expect(health.status).toBe(200);
    }
  });

  it('still takes a chunked body within the limit', async () => {
    const res = await fetch(`${server.url}/api/v1/workspaces/bodies/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
      // A stream body has no Content-Length: undici sends it chunked.
      body: new Blob([JSON.stringify({ id: 'chunked-ok', type: 'chunked.small' })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(202);
  });
});
