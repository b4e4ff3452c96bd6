import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY } from '../src/security-headers';
import { createWorkspace } from './helpers';

// The Worker's side of the headers (the browser's side is test/e2e/security-headers.test.ts): HSTS on https only.
describe('security headers', () => {
  for (const path of ['/', '/w/acme/reports', '/api/docs']) {
    it(`sends the page policy on ${path}, with HSTS over https and not over http`, async () => {
      const secure = await exports.default.fetch(`https://edgepulse.test${path}`);
      expect(secure.status).toBe(200);
      expect(secure.headers.get('content-type')).toMatch(/^text\/html/);
      expect(secure.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(secure.headers.get('x-frame-options')).toBe('DENY');
      expect(secure.headers.get('x-content-type-options')).toBe('nosniff');
      expect(secure.headers.get('referrer-policy')).toBe('no-referrer');
      expect(secure.headers.get('strict-transport-security')).toBe(STRICT_TRANSPORT_SECURITY);
      const plain = await exports.default.fetch(`http://edgepulse.test${path}`);
      expect(plain.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(plain.headers.get('strict-transport-security')).toBeNull();
    });
  }

  it('keeps the API JSON, not found as JSON, with nosniff and without the page policy', async () => {
    for (const [path, status] of [['/health', 200], ['/api/v1/nope', 404], ['/v1/nope', 404]] as const) {
      const res = await exports.default.fetch(`https://edgepulse.test${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), path).toBeNull();
    }
  });

  it('adds nosniff to a stream passed through from a Durable Object (immutable headers) and leaves the WebSocket upgrade alone', async () => {
    const ws = await createWorkspace('hdr');
    const abort = new AbortController();
    const sse = await exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/live`, {
      headers: { authorization: `Bearer ${ws.keys.read}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(sse.headers.get('x-content-type-options')).toBe('nosniff');
    abort.abort();
    await sse.body?.cancel().catch(() => undefined);
    const upgrade = await exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/live`, {
      headers: { authorization: `Bearer ${ws.keys.read}`, upgrade: 'websocket' },
    });
    expect(upgrade.status).toBe(101);
    upgrade.webSocket!.accept();
    upgrade.webSocket!.close(1000, 'done');
  });
});
