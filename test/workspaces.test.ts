import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveSecret } from '../src/auth/credentials';
import { sha256Hex } from '../src/auth/secrets';
import { db } from '../src/history/workspaces';
import type { WorkspaceHub } from '../src/live/workspace-hub';
import { call, countRows, createWorkspace, flush, hub, makeEvents, ROOT, type TestWorkspace } from './helpers';

const rowsOf = (id: string, table: string) => countRows(`SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?`, id);

describe('keys', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('are stored hashed: no column of api_keys holds a secret', async () => {
    const ws = await createWorkspace('hashed');
    const rows = (await env.DB.prepare('SELECT * FROM api_keys WHERE workspace_id = ?').bind(ws.id).all()).results;
    expect(rows).toHaveLength(3);
    const text = JSON.stringify(rows);
    for (const secret of Object.values(ws.keys)) {
      expect(text).not.toContain(secret);
      expect(rows.map((r) => r.hash)).toContain(await sha256Hex(secret));
    }
    expect(ws.keys.ingest).toMatch(/^pk_/);
    expect(ws.keys.read).toMatch(/^rk_/);
    expect(ws.keys.admin).toMatch(/^sk_/);
  });

  it('show the secret once: the list and every workspace answer hold none', async () => {
    const ws = await createWorkspace('secrets');
    const made = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: 'read', name: 'grafana' } });
    expect(made.status).toBe(201);
    expect(made.json.key).toEqual({ id: expect.any(String), kind: 'read', prefix: made.json.secret.slice(0, 8), name: 'grafana', createdAt: expect.any(String) });
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: made.json.secret })).status).toBe(200);
    const listed = await call('GET', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin });
    expect(listed.status).toBe(200);
    expect(listed.json.keys.map((k: { kind: string }) => k.kind).sort()).toEqual(['admin', 'ingest', 'read', 'read']);
    for (const key of listed.json.keys) expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'kind', 'name', 'prefix']);
    for (const secret of [...Object.values(ws.keys), made.json.secret]) expect(listed.text).not.toContain(secret);
  });

  it('stop working at once in the isolate that revoked them, and leave the list', async () => {
    const ws = await createWorkspace('revoke');
    const made = await call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: 'ingest' } });
    const secret = made.json.secret;
    const sendWith = (token: string) => call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token, body: { type: 'revoke.test' } });
    expect((await sendWith(secret)).status).toBe(202); // now cached in this isolate
    const del = await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/${made.json.key.id}`, { token: ws.keys.admin });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const after = await sendWith(secret);
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('unauthorized');
    const collected = await call('POST', `/api/v1/collect?key=${secret}`, { body: { type: 'revoke.test' } });
    expect(collected.status).toBe(401);
    const listed = await call('GET', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin });
    expect(listed.json.keys.map((k: { id: string }) => k.id)).not.toContain(made.json.key.id);
    // Revoking again, or revoking an unknown id, is 404; the workspace's other keys still work.
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/${made.json.key.id}`, { token: ws.keys.admin })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}/keys/key_nope`, { token: ws.keys.admin })).json.error.code).toBe('not_found');
    expect((await sendWith(ws.keys.ingest)).status).toBe(202);
  });

  it('cannot be revoked through another workspace’s path', async () => {
    const a = await createWorkspace('revoke-a');
    const b = await createWorkspace('revoke-b');
    const bKeys = await call('GET', `/api/v1/workspaces/${b.slug}/keys`, { token: b.keys.admin });
    const bIngest = bKeys.json.keys.find((k: { kind: string }) => k.kind === 'ingest').id;
    const res = await call('DELETE', `/api/v1/workspaces/${a.slug}/keys/${bIngest}`, { token: a.keys.admin });
    expect(res.status).toBe(404);
    expect((await call('POST', `/api/v1/workspaces/${b.slug}/events`, { token: b.keys.ingest, body: { type: 'still.works' } })).status).toBe(202);
  });

  it('revoked elsewhere stop working here within 60 s (the isolate cache’s lifetime)', async () => {
    const ws = await createWorkspace('revoke-elsewhere');
    const d = db(env.DB);
    expect(await resolveSecret(d, ws.keys.read, ROOT())).toMatchObject({ kind: 'read' });
    // Another isolate revokes it: this isolate's cache is not told.
    await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE hash = ?').bind(Date.now(), await sha256Hex(ws.keys.read)).run();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    expect(await resolveSecret(d, ws.keys.read, ROOT())).toBeNull();
  });
});

describe('PATCH /workspaces/{ws}', () => {
  it('changes settings and never echoes a secret', async () => {
    const ws = await createWorkspace('patch-secrets');
    const livekit = { apiKey: 'APIkey123', apiSecret: 'lk-secret-value-that-must-not-leak' };
    const webhookSecret = 'whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==';
    const res = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, {
      token: ws.keys.admin,
      body: { name: 'Acme', timezone: 'Asia/Tokyo', retentionDays: 30, allowedOrigins: ['https://acme.test'], livekit, webhookSecret },
    });
    expect(res.status).toBe(200);
    expect(res.json.workspace).toMatchObject({
      slug: ws.slug, name: 'Acme', timezone: 'Asia/Tokyo', retentionDays: 30, allowedOrigins: ['https://acme.test'],
      livekitConfigured: true, webhookSecretConfigured: true,
    });
    const answers = [
      res.text,
      (await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.read })).text,
      (await call('GET', '/api/v1/workspaces', { token: ROOT() })).text,
    ];
    for (const text of answers) {
      expect(text).not.toContain(livekit.apiSecret);
      expect(text).not.toContain(webhookSecret);
      expect(text).not.toContain('c2VjcmV0');
    }
    expect(JSON.parse(answers[1]).workspace).toMatchObject({ name: 'Acme', timezone: 'Asia/Tokyo' });
    // null clears a secret.
    const cleared = await call('PATCH', `/api/v1/workspaces/${ws.slug}`, { token: ws.keys.admin, body: { livekit: null, webhookSecret: null } });
    expect(cleared.json.workspace).toMatchObject({ livekitConfigured: false, webhookSecretConfigured: false, name: 'Acme' });
  });
});

describe('DELETE /workspaces/{ws}', () => {
  async function hubTables(ws: TestWorkspace) {
    return runInDurableObject(hub(ws.id) as DurableObjectStub<WorkspaceHub>, async (_i, state) => ({
      seen: state.storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'seen_%'`).toArray().length,
      outbox: state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'outbox'`).one().n
        ? state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n
        : 0,
      alarm: await state.storage.getAlarm(),
    }));
  }

  it('removes the workspace’s events, keys and hub state, and nothing drains back afterwards', async () => {
    const ws = await createWorkspace('doomed');
    const other = await createWorkspace('bystander');
    const send = (w: TestWorkspace, events: unknown[]) => call('POST', `/api/v1/workspaces/${w.slug}/events`, { token: w.keys.ingest, body: { events } });
    expect((await send(ws, makeEvents(100, 'gone'))).status).toBe(202);
    await flush(ws);
    expect((await send(other, makeEvents(10, 'stays'))).status).toBe(202);
    await flush(other);
    // Some still in the outbox, with an alarm pending, when the delete comes.
    expect((await send(ws, makeEvents(50, 'pending'))).status).toBe(202);
    expect((await hubTables(ws)).outbox).toBe(1);
    expect(await rowsOf(ws.id, 'rollups')).toBeGreaterThan(0);

    const del = await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() });
    expect(del.status).toBe(204);

    expect(await countRows('SELECT count(*) AS n FROM workspaces WHERE id = ?', ws.id)).toBe(0);
    expect(await rowsOf(ws.id, 'api_keys')).toBe(0);
    expect(await rowsOf(ws.id, 'drain_log')).toBe(0);
    expect(await rowsOf(ws.id, 'rollups')).toBe(0);
    expect(await hubTables(ws)).toEqual({ seen: 0, outbox: 0, alarm: null });
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(404);
    for (const key of Object.values(ws.keys)) {
      const res = await call('GET', `/api/v1/workspaces/${ws.slug}`, { token: key });
      expect(res.status, key.slice(0, 3)).toBe(401);
    }
    // The outbox's events never reach history later (raw D1 rows from before the archive are left to the archive migration, which skips deleted workspaces).
    await new Promise((r) => setTimeout(r, 800));
    expect(await rowsOf(ws.id, 'rollups')).toBe(0);
    expect(await rowsOf(ws.id, 'drain_log')).toBe(0);
    // The bystander is untouched.
    expect((await call('GET', `/api/v1/workspaces/${other.slug}/events`, { token: other.keys.read })).json.events).toHaveLength(10);
  });

  it('leaves a hub that answers a late call (a stale cache elsewhere) from empty state, not a 500', async () => {
    const ws = await createWorkspace('late-call');
    await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(5, 'late') } });
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
    const stub = hub(ws.id);
    expect(await stub.usage()).toMatchObject({ pendingBatches: 0 });
    const now = Date.now();
    const event = { id: 'late-0', type: 't', ts: now, receivedAt: now, userId: null, sessionId: null, room: null, durationMs: null, bytesIn: null, bytesOut: null, error: null, value: null, properties: {}, context: {} };
    // Its old ids are forgotten with the rest.
    expect(await stub.ingest({ id: ws.id, slug: ws.slug, timezone: 'UTC' }, [event])).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('frees the slug: a new workspace under it starts empty and remembers no old id', async () => {
    const ws = await createWorkspace('reborn');
    await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.ingest, body: { events: makeEvents(20, 'old') } });
    await flush(ws);
    expect((await call('DELETE', `/api/v1/workspaces/${ws.slug}`, { token: ROOT() })).status).toBe(204);
    const again = await call('POST', '/api/v1/workspaces', { token: ROOT(), body: { slug: ws.slug } });
    expect(again.status).toBe(201);
    const keys = again.json.keys;
    // The old keys belong to nothing; the new ones see an empty history.
    expect((await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: ws.keys.read })).status).toBe(401);
    const read = await call('GET', `/api/v1/workspaces/${ws.slug}/events`, { token: keys.read });
    expect(read.status).toBe(200);
    expect(read.json.events).toEqual([]);
    const resend = await call('POST', `/api/v1/workspaces/${ws.slug}/events`, { token: keys.ingest, body: { events: makeEvents(20, 'old') } });
    expect(resend.json).toEqual({ accepted: 20, duplicates: 0 });
  });
});
