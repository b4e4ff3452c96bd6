import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('operations', () => {
  it('answers /health', async () => {
    const res = await exports.default.fetch('http://x/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: '0.1.0' });
  });
});

/** Every route of API.md's tables, as OpenAPI writes its paths. */
const DOCUMENTED = {
  '/health': ['get'],
  '/api/v1/openapi.json': ['get'],
  '/api/docs': ['get'],
  '/api/v1/workspaces': ['get', 'post'],
  '/api/v1/workspaces/{ws}': ['get', 'patch', 'delete'],
  '/api/v1/workspaces/{ws}/keys': ['get', 'post'],
  '/api/v1/workspaces/{ws}/keys/{id}': ['delete'],
  '/api/v1/workspaces/{ws}/events': ['get', 'post'],
  '/api/v1/collect': ['post'],
  '/api/v1/workspaces/{ws}/live': ['get', 'delete'],
  '/api/v1/workspaces/{ws}/live/token': ['post'],
  '/api/v1/workspaces/{ws}/rooms/{room}/live': ['get'],
  '/t.js': ['get'],
  '/api/v1/workspaces/{ws}/stats/summary': ['get'],
  '/api/v1/workspaces/{ws}/stats/timeseries': ['get'],
  '/api/v1/workspaces/{ws}/stats/breakdown': ['get'],
  '/api/v1/workspaces/{ws}/users': ['get'],
  '/api/v1/workspaces/{ws}/users/{userId}': ['get'],
  '/api/v1/workspaces/{ws}/sessions': ['get'],
  '/api/v1/workspaces/{ws}/rooms': ['get'],
  '/api/v1/workspaces/{ws}/export': ['get'],
  '/api/v1/workspaces/{ws}/metrics': ['get'],
  '/api/v1/workspaces/{ws}/webhooks/livekit': ['post'],
  '/api/v1/workspaces/{ws}/webhooks/standard': ['post'],
  '/v1/batch': ['post'],
  '/v1/track': ['post'],
  '/v1/identify': ['post'],
  '/v1/page': ['post'],
  '/v1/screen': ['post'],
  '/v1/group': ['post'],
  '/v1/alias': ['post'],
  '/api/v1/workspaces/{ws}/schedules': ['get', 'post'],
  '/api/v1/workspaces/{ws}/schedules/{id}': ['delete'],
  '/api/v1/workspaces/{ws}/schedules/{id}/send': ['post'],
} as const;

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route of the contract', async () => {
    const res = await exports.default.fetch('http://x/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1\./);
    const missing = Object.entries(DOCUMENTED).flatMap(([path, methods]) => methods.filter((m) => !doc.paths[path]?.[m]).map((m) => `${m.toUpperCase()} ${path}`));
    expect(missing).toEqual([]);
  });

  it('has an interactive reference at /api/docs that loads the document from this Worker (no CDN)', async () => {
    const res = await exports.default.fetch('http://x/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('/api/v1/openapi.json');
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/);
  });
});
