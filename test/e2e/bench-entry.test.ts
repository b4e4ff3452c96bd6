// The bench entry Worker (bench/worker.ts) as the benchmarks run it: bundled by `wrangler deploy
// --dry-run --config bench/wrangler.toml` and started in Miniflare by bench/lib/worker.mjs. Its
// references answer as the benchmarks expect, and everything else is the production app.
import { dirname, join, resolve } from 'node:path';
import { unstable_readConfig } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
// @ts-expect-error plain JavaScript module of the benchmarks
import { BENCH_CONFIG, buildBundle, createWorkspace, ROOT, startMiniflare } from '../../bench/lib/worker.mjs';

interface Worker {
  url: string;
  db: D1Like;
  hub(id: string): Promise<{ flush(): Promise<number>; usage(): Promise<{ pendingBatches: number }> }>;
  stop(): Promise<void>;
}
interface D1Like {
  prepare(sql: string): { bind(...v: unknown[]): { first(): Promise<any>; all(): Promise<{ results: any[] }> } };
}

let worker: Worker;
let cleanup: () => void = () => {};
beforeAll(async () => {
  const bundle = buildBundle();
  cleanup = bundle.cleanup;
  worker = await startMiniflare(bundle.scriptPath);
});
afterAll(async () => {
  await worker?.stop();
  cleanup();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${worker.url}${path}`, { method: 'POST', headers, body });
const postEvents = (slug: string, key: string, body: unknown, headers: Record<string, string> = {}) =>
  post(`/api/v1/workspaces/${slug}/events`, JSON.stringify(body), { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers });
const events = (n: number, prefix: string) => ({ events: Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'bench.test', userId: `u${i}` })) });
const workspaceId = async (slug: string) => (await worker.db.prepare('SELECT id FROM workspaces WHERE slug = ?').bind(slug).first()).id as string;
const rawRows = async (id: string) => (await worker.db.prepare('SELECT count(*) AS n FROM events WHERE workspace_id = ?').bind(id).first()).n as number;

describe('the bench entry Worker', () => {
  it('has the production bindings plus its baseline Durable Object', () => {
    // Paths as absolute ones: the two configs sit in different folders.
    const read = (path: string) => {
      const c = unstable_readConfig({ config: path }, { hideWarnings: true });
      const at = (p: string | undefined) => p && resolve(dirname(path), p);
      return { ...c, d1_databases: c.d1_databases.map((d) => ({ ...d, migrations_dir: at(d.migrations_dir) })), assets: c.assets && { ...c.assets, directory: at(c.assets.directory) } };
    };
    const prod = read(join(ROOT, 'wrangler.toml'));
    const bench = read(BENCH_CONFIG);
    for (const key of ['compatibility_date', 'compatibility_flags', 'vars', 'd1_databases', 'r2_buckets', 'kv_namespaces', 'queues', 'assets', 'triggers'] as const) {
      expect(bench[key], key).toEqual(prod[key]);
    }
    expect(bench.durable_objects.bindings).toEqual([...prod.durable_objects.bindings, { name: 'BENCH_BASELINE', class_name: 'BenchBaseline' }]);
    expect(bench.migrations.slice(0, -1)).toEqual(prod.migrations);
    expect(bench.migrations.at(-1)).toEqual({ tag: 'bench-v1', new_sqlite_classes: ['BenchBaseline'] });
  });

  it('passes production requests to the app', async () => {
    const res = await fetch(`${worker.url}/health`);
    expect(res.status).toBe(200);
    const slug = `entry-${Date.now().toString(36)}`;
    const keys = await createWorkspace(worker.url, slug);
    const res2 = await postEvents(slug, keys.ingest, events(2, 'usual'), { 'x-edgepulse-bench': 'other' });
    expect(res2.status).toBe(202);
    expect(await res2.json()).toEqual({ accepted: 2, duplicates: 0 });
    const id = await workspaceId(slug);
    expect(await (await worker.hub(id)).flush()).toBe(0);
    expect(await rawRows(id)).toBe(2);
    expect((await fetch(`${worker.url}/api/v1/bench/nothing`)).status).toBe(404);
  });

  it('worker-half: the production route answers after validation, with no hub call, storing nothing', async () => {
    const slug = `half-${Date.now().toString(36)}`;
    const keys = await createWorkspace(worker.url, slug);
    const half = { 'x-edgepulse-bench': 'worker-half' };
    const ok = await postEvents(slug, keys.ingest, events(5, 'half'), half);
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ accepted: 5, duplicates: 0 });
    // The same ids again: still all accepted, nothing de-duplicated them.
    expect(await (await postEvents(slug, keys.ingest, events(5, 'half'), half)).json()).toEqual({ accepted: 5, duplicates: 0 });
    const bad = await postEvents(slug, keys.ingest, { events: [{ type: 42 }] }, half);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.issues[0].path).toBe('events.0.type');
    expect((await postEvents(slug, 'pk_wrong', events(1, 'auth'), half)).status).toBe(401);
    const id = await workspaceId(slug);
    const hub = await worker.hub(id);
    expect((await hub.usage()).pendingBatches).toBe(0);
    expect(await hub.flush()).toBe(0);
    expect(await rawRows(id)).toBe(0);
  });

  it('broadcasts to bare sockets from one bare Durable Object call', async () => {
    expect(await (await post('/api/v1/bench/broadcast', 'nobody')).json()).toEqual({ sent: 0 });
    const sockets = await Promise.all([0, 1].map(() => new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`${worker.url.replace('http', 'ws')}/api/v1/bench/ws`);
      s.once('open', () => resolve(s));
      s.once('error', reject);
    })));
    const received = sockets.map((s) => new Promise<string>((resolve) => s.once('message', (m) => resolve(m.toString()))));
    expect(await (await post('/api/v1/bench/broadcast', 'hello')).json()).toEqual({ sent: 2 });
    expect(await Promise.all(received)).toEqual(['hello', 'hello']);
    for (const s of sockets) s.close();
  });

  it('writes raw rows into D1 the way the drain does', async () => {
    const prefix = `d1rows-${Date.now().toString(36)}`;
    const body = { events: [0, 1, 2, 3].map((i) => ({ id: `${prefix}-${i}`, type: 'test.event', context: { country: 'DE' }, properties: { plan: 'pro' } })), copies: 3 };
    const res = await post('/api/v1/bench/d1-rows', JSON.stringify(body), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ rows: 12 });
    const rows = (await worker.db.prepare(`SELECT id, type, properties, context FROM events WHERE workspace_id = 'bench:d1-rows' AND id LIKE ? ORDER BY id`).bind(`${prefix}%`).all()).results;
    expect(rows).toHaveLength(12);
    expect(rows[0]).toMatchObject({ id: `${prefix}-0.0`, type: 'test.event', properties: '{"plan":"pro"}' });
    expect(JSON.parse(rows[0].context)).toMatchObject({ country: 'DE' });
    const bad = await post('/api/v1/bench/d1-rows', JSON.stringify({ events: [{ type: 1 }], copies: 1 }), { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
  });
});
