import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { archivedCount } from './archived';
import { call, countRows, createWorkspace, flush, hub, makeEvents, ROOT, type TestWorkspace } from './helpers';
import { LIMITS } from '../src/shared/limits';

const KIB = 1024;
const ok = (extra: Record<string, unknown> = {}) => ({ type: 'limit.test', ...extra });
const batchWithBad3 = (bad: Record<string, unknown>) => ({
  events: [0, 1, 2, 3, 4].map((i) => (i === 3 ? { id: `b3-${i}`, ...ok(), ...bad } : { id: `b3-${i}`, ...ok() })),
});
const manyProps = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
const inFuture = (ms: number) => Date.now() + ms;
/** An event of about `kib` KiB made of 1,000-character property values. */
const bigEvent = (i: number, kib: number) =>
  ok({ id: `big-${i}`, properties: Object.fromEntries(Array.from({ length: kib }, (_, j) => [`k${j}`, 'v'.repeat(1000)])) });
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).byteLength;

interface Case {
  name: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** Issue paths the answer must name (exactly these, in any order). */
  paths?: string[];
}

const CASES: Case[] = [
  { name: 'bad JSON', rawBody: '{"type": "x",', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request', paths: ['(body)'] },
  { name: 'JSON that is not an object', body: [ok()], status: 400, code: 'invalid_request', paths: ['(body)'] },
  { name: 'JSON null', rawBody: 'null', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request', paths: ['(body)'] },
  { name: 'empty body', rawBody: '', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request', paths: ['(body)'] },
  { name: 'text/plain content type', rawBody: JSON.stringify(ok()), headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'form content type', rawBody: 'type=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'octet-stream content type', rawBody: JSON.stringify(ok()), headers: { 'content-type': 'application/octet-stream' }, status: 415, code: 'unsupported_media_type' },
  { name: 'type of the wrong type', body: { type: 5 }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'missing type', body: { userId: 'u1' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'durationMs as text', body: ok({ durationMs: 'fast' }), status: 400, code: 'invalid_request', paths: ['durationMs'] },
  { name: 'negative durationMs', body: ok({ durationMs: -1 }), status: 400, code: 'invalid_request', paths: ['durationMs'] },
  { name: 'fractional bytesIn', body: ok({ bytesIn: 1.5 }), status: 400, code: 'invalid_request', paths: ['bytesIn'] },
  { name: 'negative bytesOut', body: ok({ bytesOut: -3 }), status: 400, code: 'invalid_request', paths: ['bytesOut'] },
  { name: 'numeric userId', body: ok({ userId: 42 }), status: 400, code: 'invalid_request', paths: ['userId'] },
  { name: 'userId over 128 chars', body: ok({ userId: 'u'.repeat(129) }), status: 400, code: 'invalid_request', paths: ['userId'] },
  { name: 'error over 128 chars', body: ok({ error: 'e'.repeat(129) }), status: 400, code: 'invalid_request', paths: ['error'] },
  { name: 'value as text', body: ok({ value: '150' }), status: 400, code: 'invalid_request', paths: ['value'] },
  { name: 'value beyond a double', rawBody: '{"type":"x","value":1e999}', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request', paths: ['value'] },
  { name: 'nested property value', body: ok({ properties: { a: { nested: 1 } } }), status: 400, code: 'invalid_request', paths: ['properties.a'] },
  { name: 'property string over 1000 chars', body: ok({ properties: { a: 'x'.repeat(1001) } }), status: 400, code: 'invalid_request', paths: ['properties.a'] },
  { name: 'properties as an array', body: ok({ properties: [1, 2] }), status: 400, code: 'invalid_request', paths: ['properties'] },
  { name: '51 properties', body: ok({ properties: manyProps(51) }), status: 400, code: 'invalid_request', paths: ['properties'] },
  { name: 'context field of the wrong type', body: ok({ context: { country: 5 } }), status: 400, code: 'invalid_request', paths: ['context.country'] },
  { name: 'timestamp not a time', body: ok({ timestamp: 'yesterday' }), status: 400, code: 'invalid_request', paths: ['timestamp'] },
  { name: 'timestamp 6 minutes ahead (epoch ms)', body: ok({ timestamp: inFuture(6 * 60_000) }), status: 400, code: 'invalid_request', paths: ['timestamp'] },
  { name: 'timestamp a day ahead (ISO)', body: ok({ timestamp: new Date(inFuture(86_400_000)).toISOString() }), status: 400, code: 'invalid_request', paths: ['timestamp'] },
  { name: 'id with a space', body: ok({ id: 'has space' }), status: 400, code: 'invalid_request', paths: ['id'] },
  { name: 'id over 64 chars', body: ok({ id: 'i'.repeat(65) }), status: 400, code: 'invalid_request', paths: ['id'] },
  { name: 'id with non-ASCII letters', body: ok({ id: 'ümlaut' }), status: 400, code: 'invalid_request', paths: ['id'] },
  { name: 'empty id', body: ok({ id: '' }), status: 400, code: 'invalid_request', paths: ['id'] },
  { name: 'numeric id', body: ok({ id: 7 }), status: 400, code: 'invalid_request', paths: ['id'] },
  { name: 'room with a space', body: ok({ room: 'stand up' }), status: 400, code: 'invalid_request', paths: ['room'] },
  { name: 'room with a slash', body: ok({ room: 'a/b' }), status: 400, code: 'invalid_request', paths: ['room'] },
  { name: 'room over 128 chars', body: ok({ room: 'r'.repeat(129) }), status: 400, code: 'invalid_request', paths: ['room'] },
  { name: 'empty room', body: ok({ room: '' }), status: 400, code: 'invalid_request', paths: ['room'] },
  { name: 'type with a control character', body: { type: 'bad\u0001type' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with a newline', body: { type: 'two\nlines' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with a tab', body: { type: 'a\tb' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with DEL', body: { type: 'a\u007fb' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with a lone surrogate', rawBody: '{"type":"\\ud800x"}', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with a leading space', body: { type: ' leading' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type with a trailing space', body: { type: 'trailing ' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'type over 64 chars', body: { type: 't'.repeat(65) }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'empty type', body: { type: '' }, status: 400, code: 'invalid_request', paths: ['type'] },
  { name: 'empty batch', body: { events: [] }, status: 400, code: 'invalid_request', paths: ['events'] },
  { name: 'events not an array', body: { events: 'x' }, status: 400, code: 'invalid_request', paths: ['events'] },
  { name: '501 events', body: { events: makeEvents(501, 'too-many') }, status: 400, code: 'invalid_request', paths: ['events'] },
  { name: 'one event over 32 KiB', body: ok({ error: 'x', properties: { big: 'x'.repeat(1000) }, context: { url: 'u'.repeat(33 * KIB) } }), status: 413, code: 'payload_too_large' },
  // Every event under 32 KiB, the body over 1 MiB.
  { name: 'body over 1 MiB', body: { events: Array.from({ length: 45 }, (_, i) => bigEvent(i, 25)) }, status: 413, code: 'payload_too_large' },
  { name: 'batch whose event 3 lacks a type', body: batchWithBad3({ type: undefined }), status: 400, code: 'invalid_request', paths: ['events.3.type'] },
  { name: 'batch whose event 3 has a bad id', body: batchWithBad3({ id: 'bad id' }), status: 400, code: 'invalid_request', paths: ['events.3.id'] },
  { name: 'batch whose event 3 has a bad room', body: batchWithBad3({ room: 'no spaces allowed' }), status: 400, code: 'invalid_request', paths: ['events.3.room'] },
  { name: 'batch whose event 3 has 51 properties', body: batchWithBad3({ properties: manyProps(51) }), status: 400, code: 'invalid_request', paths: ['events.3.properties'] },
  { name: 'batch whose event 3 is in the future', body: batchWithBad3({ timestamp: inFuture(10 * 60_000) }), status: 400, code: 'invalid_request', paths: ['events.3.timestamp'] },
  { name: 'batch whose event 3 is over 32 KiB', body: batchWithBad3({ context: { url: 'u'.repeat(33 * KIB) } }), status: 413, code: 'payload_too_large', paths: ['events.3'] },
  { name: 'batch whose event 3 is not an object', body: { events: [ok(), ok(), ok(), 'oops', ok()] }, status: 400, code: 'invalid_request', paths: ['events.3'] },
];

describe('limits and malformed input on POST /workspaces/{ws}/events: the documented 4xx and nothing stored', () => {
  let ws: TestWorkspace;
  beforeAll(async () => {
    ws = await createWorkspace('limits');
  });

  /** Nothing in D1 (even after a drain) and nothing in the hub's outbox. */
  async function expectNothingStored(w: TestWorkspace) {
    expect(await flush(w)).toBe(0);
    expect(await archivedCount(w.id)).toBe(0);
    expect((await hub(w.id).usage()).pendingBatches).toBe(0);
  }

  it.each(CASES.map((c) => [c.name, c.status, c] as const))('%s → %i', async (_name, status, c) => {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      body: c.body,
      rawBody: c.rawBody,
      headers: c.headers,
    });
    expect(res.status, res.text).toBe(status);
    expect(res.json.error.code).toBe(c.code);
    expect(res.json.error.message.length).toBeGreaterThan(0);
    if (c.paths) expect(res.json.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([...c.paths].sort());
    await expectNothingStored(ws);
  });

  it('has stored no id of a rejected batch: its valid events are accepted afterwards, not duplicates', async () => {
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, {
      token: ws.keys.ingest,
      body: { events: [0, 1, 2, 4].map((i) => ({ id: `b3-${i}`, ...ok() })) },
    });
    expect(res.json).toEqual({ accepted: 4, duplicates: 0 });
    await flush(ws);
    expect(await archivedCount(ws.id)).toBe(4);
  });

  it('accepts what sits exactly at each limit', async () => {
    const edge = await createWorkspace('limits-edge');
    const send = (body: unknown) => call('POST', `/api/v1/workspaces/${edge.slug}/events`, { token: edge.keys.ingest, body });
    const cases: Array<[string, unknown]> = [
      ['500 events', { events: makeEvents(500, 'edge500') }],
      ['50 properties', ok({ properties: manyProps(50) })],
      ['a 64-char type', { type: 't'.repeat(64) }],
      ['a type with inner spaces and unicode', { type: 'Order Completed ✓' }],
      ['a 64-char id', ok({ id: 'i'.repeat(64) })],
      ['a 128-char room', ok({ room: 'r'.repeat(128) })],
      ['a room with every allowed sign', ok({ room: 'a.b_c:d@e-F9' })],
      ['a timestamp 4 minutes ahead', ok({ timestamp: inFuture(4 * 60_000) })],
      ['an event just under 32 KiB', { ...bigEvent(0, 31), context: { url: 'u'.repeat(32 * KIB - bytes(bigEvent(0, 31)) - 30) } }],
      ['a body of 41 events near 25 KiB each (just under 1 MiB)', { events: Array.from({ length: 41 }, (_, i) => bigEvent(i + 1, 25)) }],
    ];
    const nearEvent = cases[8][1];
    expect(bytes(nearEvent)).toBeGreaterThan(32 * KIB - 20);
    expect(bytes(nearEvent)).toBeLessThanOrEqual(32 * KIB);
    expect(bytes(cases[9][1])).toBeGreaterThan(1000 * KIB);
    expect(bytes(CASES.find((c) => c.name === 'body over 1 MiB')!.body)).toBeGreaterThan(1024 * KIB);
    for (const [name, body] of cases) {
      const res = await send(body);
      expect(res.status, `${name}: ${res.text}`).toBe(202);
    }
    await flush(edge);
    expect(await archivedCount(edge.id)).toBe(500 + 41 + cases.length - 2);
  });

  it('answers 404 for an unknown workspace to root and 403 to a key, storing nothing', async () => {
    const asRoot = await call('POST', '/api/v1/workspaces/no-such-workspace/events', { token: ROOT(), body: ok({ id: 'ghost-1' }) });
    expect(asRoot.status).toBe(404);
    expect(asRoot.json.error.code).toBe('not_found');
    const asKey = await call('POST', '/api/v1/workspaces/no-such-workspace/events', { token: ws.keys.ingest, body: ok({ id: 'ghost-2' }) });
    expect(asKey.status).toBe(403);
    expect(asKey.json.error.code).toBe('forbidden');
    for (const path of ['/api/v1/workspaces/no-such-workspace', '/api/v1/workspaces/no-such-workspace/events', '/api/v1/workspaces/no-such-workspace/keys']) {
      expect((await call('GET', path, { token: ROOT() })).status, path).toBe(404);
    }
    expect(await archivedCount(null, (r) => r.id!.startsWith('ghost-'))).toBe(0);
  });
});

describe('limits on POST /collect', () => {
  it('answers 400, 413 and 415 and stores nothing', async () => {
    const ws = await createWorkspace('limits-collect');
    const path = `/api/v1/collect?key=${ws.keys.ingest}`;
    const cases: Array<[string, { rawBody: string; headers: Record<string, string> }, number, string]> = [
      ['bad JSON as text/plain', { rawBody: '{"type":', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request'],
      ['an XML body', { rawBody: '<event/>', headers: { 'content-type': 'application/xml' } }, 415, 'unsupported_media_type'],
      ['an event over 32 KiB', { rawBody: JSON.stringify(ok({ context: { url: 'u'.repeat(33 * KIB) } })), headers: { 'content-type': 'text/plain' } }, 413, 'payload_too_large'],
      ['a body over 1 MiB', { rawBody: JSON.stringify({ ...ok(), pad: 'p'.repeat(1100 * KIB) }), headers: { 'content-type': 'text/plain' } }, 413, 'payload_too_large'],
      ['a bad type', { rawBody: JSON.stringify({ type: ' x' }), headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request'],
      // JSON that is no object: once a 500 (the key was looked for in it).
      ['JSON null', { rawBody: 'null', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request'],
      ['a JSON array', { rawBody: JSON.stringify([ok()]), headers: { 'content-type': 'application/json' } }, 400, 'invalid_request'],
      ['a JSON number', { rawBody: '42', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request'],
      ['a JSON string', { rawBody: '"pageview"', headers: { 'content-type': 'text/plain' } }, 400, 'invalid_request'],
    ];
    for (const [name, opts, status, code] of cases) {
      const res = await call('POST', path, opts);
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(res.json.error.code).toBe(code);
    }
    expect(await flush(ws)).toBe(0);
    expect(await archivedCount(ws.id)).toBe(0);
  });
});

describe('workspace input', () => {
  it('refuses bad slugs with 400 and a taken slug with 409', async () => {
    for (const slug of ['Upper', 'a', '-leading', 'has space', 'under_score', 'x'.repeat(64), '', 7]) {
      const res = await call('POST', '/api/v1/workspaces', { token: ROOT(), body: { slug } });
      expect(res.status, String(slug)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      expect(res.json.error.issues.map((i: { path: string }) => i.path)).toEqual(['slug']);
    }
    const ws = await createWorkspace('taken');
    const again = await call('POST', '/api/v1/workspaces', { token: ROOT(), body: { slug: ws.slug } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('conflict');
    expect(await countRows('SELECT count(*) AS n FROM workspaces WHERE slug = ?', ws.slug)).toBe(1);
    expect(await countRows('SELECT count(*) AS n FROM api_keys WHERE workspace_id = ?', ws.id)).toBe(3);
  });

  it('refuses a bad timezone, retention or body on create and PATCH with 400', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      [{ timezone: '' }, 'timezone'],
      [{ retentionDays: 0 }, 'retentionDays'],
      [{ retentionDays: 1.5 }, 'retentionDays'],
    ];
    for (const [extra, path] of bad) {
      const slug = `tz-${Date.now().toString(36)}-${path.length}${String(extra[path]).length}`;
      const res = await call('POST', '/api/v1/workspaces', { token: ROOT(), body: { slug, ...extra } });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(new Set(res.json.error.issues.map((i: { path: string }) => i.path))).toEqual(new Set([path]));
      expect(await countRows('SELECT count(*) AS n FROM workspaces WHERE slug = ?', slug)).toBe(0);
    }
    const ws = await createWorkspace('patch', { timezone: 'Europe/Berlin' });
    for (const [body, path] of [...bad, [{ unknownField: 1 }, ''], [{ webhookSecret: 'nope' }, 'webhookSecret'], [{ webhookSecret: 'whsec_abcdefghi' }, 'webhookSecret'], [{ webhookSecret: 'whsec_YWJj' }, 'webhookSecret'], [{ allowedOrigins: 'https://x' }, 'allowedOrigins']] as Array<[Record<string, unknown>, string]>) {
      const res = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
      if (path) expect(new Set(res.json.error.issues.map((i: { path: string }) => i.path))).toEqual(new Set([path]));
    }
    const bodyless = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, rawBody: '{oops', headers: { 'content-type': 'application/json' } });
    expect(bodyless.status).toBe(400);
    expect(bodyless.json.error.code).toBe('invalid_request');
    const after = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read });
    expect(after.json.workspace).toMatchObject({ timezone: 'Europe/Berlin', retentionDays: 90 });
  });

  it('refuses a bad key kind with 400', async () => {
    const ws = await createWorkspace('keykind');
    const res = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: 'superuser' } });
    expect(res.status).toBe(400);
    expect(res.json.error.issues.map((i: { path: string }) => i.path)).toEqual(['kind']);
    expect(await countRows('SELECT count(*) AS n FROM api_keys WHERE workspace_id = ?', ws.id)).toBe(3);
  });
});

describe('a body without Content-Length', () => {
  /** A lazily generated body of `total` bytes of JSON; counts how much the Worker pulled. */
  function streamed(total: number) {
    const chunk = new TextEncoder().encode(' '.repeat(Math.min(total, 64 * 1024)));
    const state = { pulled: 0 };
    let sentHead = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sentHead) {
          sentHead = true;
          controller.enqueue(new TextEncoder().encode('{"type":"stream","pad":"'));
          return;
        }
        if (state.pulled >= total) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        state.pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    return { stream, state };
  }

  it('is refused with 413 once it passes 1 MiB, without being read to its end (past the drain bound)', async () => {
    const ws = await createWorkspace('limits-stream');
    const { stream, state } = streamed(64 * 1024 * 1024);
    const res = await exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.keys.ingest}`, 'content-type': 'application/json' },
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    // Read on (and dropped) only up to the drain bound, which keeps wrangler dev's connection usable; never to its end.
    expect(state.pulled).toBeLessThan(LIMITS.bodyDrainMaxBytes + 4 * 1024 * 1024);
    expect(await flush(ws)).toBe(0);
    expect(await archivedCount(ws.id)).toBe(0);
  });

  it('is accepted when under 1 MiB', async () => {
    const ws = await createWorkspace('limits-stream-ok');
    const { stream } = streamed(128 * 1024);
    const res = await exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.keys.ingest}`, 'content-type': 'application/json' },
      body: stream,
    });
    // One event over 32 KiB: refused by the event limit, after a complete read.
    expect(res.status).toBe(413);
    const small = streamed(1024);
    const ok = await exports.default.fetch(`http://edgepulse.test/api/v1/workspaces/${ws.slug}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.keys.ingest}`, 'content-type': 'application/json' },
      body: small.stream,
    });
    expect(ok.status, await ok.clone().text()).toBe(202);
  });
});
