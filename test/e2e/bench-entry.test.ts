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
/** Events the workspace's archive holds (each part records its row count in its metadata). */
async function rawRows(id: string): Promise<number> {
  const bucket = await worker.bucket();
  let n = 0;
  for (const o of (await bucket.list({ prefix: `events/workspace=${id}/` })).objects) n += Number((await bucket.head(o.key))?.customMetadata?.rows ?? 0);
  return n;
}

describe('the bench entry Worker', () => {
  it('has the production bindings plus its baseline Durable Object and its drainless hub', () => {
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
    expect(bench.durable_objects.bindings).toEqual([...prod.durable_objects.bindings, { name: 'BENCH_BASELINE', class_name: 'BenchBaseline' }, { name: 'BENCH_HUB', class_name: 'BenchHub' }]);
    expect(bench.migrations.slice(0, prod.migrations.length)).toEqual(prod.migrations);
    expect(bench.migrations.slice(prod.migrations.length)).toEqual([
      { tag: 'bench-v1', new_sqlite_classes: ['BenchBaseline'] },
      { tag: 'bench-v2', new_sqlite_classes: ['BenchHub'] },
    ]);
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

  it('runs each stage of an event on its own, timed where it runs, through the production seams', async () => {
    const slug = `stages-${Date.now().toString(36)}`;
    await createWorkspace(worker.url, slug);
    const id = await workspaceId(slug);
    const workspace = { id, slug, timezone: 'UTC' };
    const body = (stage: string, extra = {}) => JSON.stringify({ stage, workspace, events: events(4, `${slug}-${stage}`).events, repeat: 3, inFlight: 2, ...extra });
    const run = async (stage: string, extra = {}) => {
      const res = await post('/api/v1/bench/stage', body(stage, extra), { 'content-type': 'application/json' });
      expect(res.status, stage).toBe(200);
      const out = (await res.json()) as { stage: string; ms: number; events: number; calls: number };
      expect(out.ms).toBeGreaterThanOrEqual(0);
      return out;
    };
    expect(await run('bare')).toMatchObject({ stage: 'bare', calls: 3 });
    expect(await run('hub-call')).toMatchObject({ events: 12, calls: 3 });
    expect(await run('hub-commit', { copies: 2 })).toMatchObject({ events: 24, calls: 3 });
    expect(await run('archive', { copies: 5 })).toMatchObject({ events: 60, calls: 3 });
    const objects = await (await worker.bucket()).list({ prefix: `events/workspace=${id}/`, include: ['customMetadata'] });
    expect(objects.objects.reduce((n, o) => n + Number(o.customMetadata?.rows), 0)).toBe(60);
    expect(await run('drain-d1')).toMatchObject({ events: 12, calls: 3 });
    const drains = (await worker.db.prepare('SELECT count(*) AS n FROM drain_log WHERE workspace_id = ?').bind(id).first()).n;
    expect(drains).toBe(3);
    const bad = await post('/api/v1/bench/stage', body('nothing'), { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
  });
});
