import { env } from 'cloudflare:test';
import { call, createWorkspace, ROOT } from '../helpers';
import type { FuzzWorld } from './requests';

const LIVEKIT = { apiKey: 'APIfuzz', apiSecret: 'fuzz-livekit-secret-0123456789abcdefghij' };
const WEBHOOK_SECRET = `whsec_${btoa('edgepulse-fuzz-standard-webhooks!')}`;

async function ok(res: Promise<{ status: number; text: string; json: any; headers: Headers }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r;
}

async function sessionCookie(key: string): Promise<string> {
  const res = await ok(call('POST', '/api/v1/session', { body: { key } }), 'sign in');
  return res.headers.get('set-cookie')!.split(';')[0];
}

/** Workspaces, keys, tokens and the OpenAPI document, as the fuzzer finds them at the start of a run. */
export async function buildWorld(): Promise<FuzzWorld> {
  const doc = (await ok(call('GET', '/api/v1/openapi.json'), 'openapi')).json;
  const main = await createWorkspace('fuzz');
  const other = await createWorkspace('fuzz-other');
  const throwaways = await Promise.all(Array.from({ length: 4 }, () => createWorkspace('fuzz-tmp')));
  // The webhook routes of `main` verify real signatures, so signed fuzz reaches their parsers.
  await ok(call('PATCH', `/api/v1/workspaces/${main.slug}`, { token: main.keys.admin, body: { livekit: LIVEKIT, webhookSecret: WEBHOOK_SECRET } }), 'configure webhooks');
  const throwawayKeyIds: string[] = [];
  for (const ws of [main, other]) {
    for (let i = 0; i < 3; i++) {
      const res = await ok(call('POST', `/api/v1/workspaces/${ws.slug}/keys`, { token: ws.keys.admin, body: { kind: (['ingest', 'read', 'admin'] as const)[i], name: 'revocable' } }), 'key');
      throwawayKeyIds.push(res.json.key.id);
    }
  }
  const share = async () => (await ok(call('POST', `/api/v1/workspaces/${main.slug}/shares`, { token: main.keys.admin, body: { name: 'fuzz' } }), 'share')).json;
  const throwawayShareIds = [(await share()).share.id, (await share()).share.id];
  const shareToken = /\/s\/(sh_\w+)$/.exec((await share()).url)![1];
  const liveToken = (await ok(call('POST', `/api/v1/workspaces/${main.slug}/live/token`, { token: main.keys.read }), 'live token')).json.token;
  return {
    doc, root: ROOT(), main, other, throwaways: throwaways.map((w) => w.slug), throwawayKeyIds, throwawayShareIds, shareToken, liveToken,
    cookie: await sessionCookie(main.keys.read), cookieToEnd: await sessionCookie(main.keys.admin),
    livekit: LIVEKIT, webhookSecret: WEBHOOK_SECRET,
  };
}

/** The seed of this run: FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function fuzzSeed(): number {
  const given = env.FUZZ_SEED;
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

/** Scales the number of cases (FUZZ_SCALE=0.1 for a quick look, 10 for a long hunt). */
export function fuzzScale(): number {
  const given = Number(env.FUZZ_SCALE);
  return Number.isFinite(given) && given > 0 ? given : 1;
}
