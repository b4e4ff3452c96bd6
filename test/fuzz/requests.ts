import fc from 'fast-check';
import type { TestWorkspace } from '../helpers';
import { supplementaryBody } from './body-shapes';
import { toJsonText } from './json';
import { schemaArb, type JsonSchema } from './schema-arb';
import { extremeNumber, hostileString } from './values';

/** What the fuzzer knows of the running Worker: its document, workspaces, credentials. */
export interface FuzzWorld {
  doc: { paths: Record<string, Record<string, Operation>> };
  root: string;
  /** Gets most traffic; never PATCHed or deleted. */
  main: TestWorkspace;
  /** Another workspace: PATCHed freely, its keys tried on `main`'s paths. */
  other: TestWorkspace;
  /** Workspaces and key ids that DELETE may really remove. */
  throwaways: string[];
  throwawayKeyIds: string[];
  /** Share links of `main` that DELETE may really remove; `shareToken` is another, kept. */
  throwawayShareIds: string[];
  shareToken: string;
  liveToken: string;
  cookie: string;
  /** A session that DELETE /api/v1/session may end. */
  cookieToEnd: string;
  livekit: { apiKey: string; apiSecret: string };
  webhookSecret: string;
}

export interface Operation {
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
}

export interface Route {
  key: string; // "POST /api/v1/workspaces/{ws}/events"
  method: string;
  template: string;
  op: Operation;
}

export type Body =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: number[] }
  | { kind: 'huge'; size: number; fill: string };

/** One generated request; plain data, so fast-check prints a shrunk case readably. */
export interface FuzzRequest {
  route: string;
  /** Clean cases are valid-shaped with the right credential; hostile ones anything. */
  hostile: boolean;
  method: string;
  path: string;
  credential: string;
  headers: Array<[string, string]>;
  body?: Body;
  /** Signed at send time over the exact body (webhooks): which signer, and how far off the clock. */
  sign?: { scheme: 'livekit' | 'standard'; skewSeconds: number };
}

export function routesOf(world: FuzzWorld): Route[] {
  const routes: Route[] = [];
  for (const [template, ops] of Object.entries(world.doc.paths)) {
    for (const [method, op] of Object.entries(ops)) routes.push({ key: `${method.toUpperCase()} ${template}`, method: method.toUpperCase(), template, op });
  }
  return routes;
}

type Credential = { name: string; headers: Array<[string, string]>; query?: [string, string] };
const bearer = (name: string, secret: string): Credential => ({ name, headers: [['authorization', `Bearer ${secret}`]] });
const basic = (name: string, user: string): Credential => ({ name, headers: [['authorization', `Basic ${btoa(`${user}:`)}`]] });

function credentials(world: FuzzWorld) {
  const { main, other } = world;
  return {
    none: { name: 'none', headers: [] } as Credential,
    root: bearer('root', world.root),
    ingest: bearer('main ingest', main.keys.ingest),
    read: bearer('main read', main.keys.read),
    admin: bearer('main admin', main.keys.admin),
    otherIngest: bearer('other ingest', other.keys.ingest),
    otherRead: bearer('other read', other.keys.read),
    otherAdmin: bearer('other admin', other.keys.admin),
    cookie: { name: 'session cookie', headers: [['cookie', world.cookie]] } as Credential,
    basicIngest: basic('basic main ingest', main.keys.ingest),
    keyQuery: { name: '?key=ingest', headers: [], query: ['key', main.keys.ingest] } as Credential,
    tokenQuery: { name: '?token=live', headers: [], query: ['token', world.liveToken] } as Credential,
    share: bearer('main share link', world.shareToken),
    duplicate: { name: 'two authorization headers', headers: [['authorization', `Bearer ${main.keys.read}`], ['authorization', `Bearer ${world.root}`]] } as Credential,
  };
}

// Header values are mostly ASCII (workerd logs a warning for every other one), now and then raw UTF-8.
const headerSafe = fc.oneof({ arbitrary: hostileString.map((x) => x.replace(/[^\x20-\x7e]/g, '?')), weight: 9 }, { arbitrary: hostileString, weight: 1 });
const garbageCredential: fc.Arbitrary<Credential> = fc
  .tuple(fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'Basic ', 'Token ', '', 'Bearer pk_', 'Bearer rk_', 'Bearer sk_'), headerSafe)
  .map(([scheme, secret]) => ({ name: 'garbage', headers: [['authorization', `${scheme}${secret}`]] }));

/** The credential a route is meant for gets most cases, every other kind some. */
function credentialArb(world: FuzzWorld, route: Route, hostile: boolean): fc.Arbitrary<Credential> {
  const c = credentials(world);
  const t = route.template;
  let preferred: Credential[];
  if (t.startsWith('/v1/')) preferred = [c.basicIngest];
  else if (t === '/api/v1/collect') preferred = [c.keyQuery, c.ingest];
  else if (t.endsWith('/webhooks/livekit') || t.endsWith('/webhooks/standard')) preferred = [c.none];
  else if (route.method === 'POST' && t.endsWith('/events')) preferred = [c.ingest, c.admin];
  else if (t === '/api/v1/workspaces' || t.startsWith('/api/v1/admin/') || (route.method === 'DELETE' && t === '/api/v1/workspaces/{ws}')) preferred = [c.root];
  else if (route.method !== 'GET' && t !== '/api/v1/workspaces/{ws}/live/token' && t !== '/api/v1/session') preferred = [c.admin, c.root];
  else if (t === '/api/v1/share') preferred = [c.share];
  else if (t.endsWith('/live')) preferred = [c.read, c.tokenQuery, c.cookie, c.share];
  else preferred = [c.read, c.admin, c.cookie];
  // Signing out ends the session on the server: it gets a session of its own.
  const all = Object.values(c).filter((x) => !(route.key === 'DELETE /api/v1/session' && x === c.cookie));
  if (route.key === 'DELETE /api/v1/session') preferred = [{ name: 'session cookie to end', headers: [['cookie', world.cookieToEnd]] }];
  if (!hostile && route.key === 'PATCH /api/v1/workspaces/{ws}') return fc.constantFrom(c.otherAdmin, c.root);
  if (!hostile) return fc.constantFrom(...preferred);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...preferred), weight: 6 },
    { arbitrary: fc.constantFrom(...all), weight: 4 },
    { arbitrary: garbageCredential, weight: 1 },
  );
}

const hostileSegment = fc.oneof(
  hostileString.map((s) => ({ raw: false, value: s })),
  fc.constantFrom('..', '.', '%00', '%2F', '%2e%2e', '%zz', '%', 'a/b', 'A'.repeat(5000), '\u00e9', '%C0%AF', '%ED%A0%80').map((s) => ({ raw: true, value: s })),
);

/** Values of a path parameter: the real ones (by route), others' and hostile ones. */
function pathParamArb(world: FuzzWorld, route: Route, name: string, hostile: boolean): fc.Arbitrary<{ raw: boolean; value: string }> {
  const real = (xs: string[]) => fc.constantFrom(...xs).map((value) => ({ raw: false, value }));
  let valid: fc.Arbitrary<{ raw: boolean; value: string }>;
  if (name === 'ws') {
    // DELETE of a workspace only ever hits throwaways; PATCH only the other workspace: `main` keeps its settings.
    if (route.key === 'DELETE /api/v1/workspaces/{ws}') valid = real([...world.throwaways, 'no-such-workspace']);
    // Mostly `other`: the throwaways may be deleted by then, and a PATCH must reach its handler in every run.
    else if (route.key === 'PATCH /api/v1/workspaces/{ws}') valid = fc.oneof({ arbitrary: real([world.other.slug]), weight: 4 }, { arbitrary: real(world.throwaways), weight: 1 });
    else if (!hostile) valid = real([world.main.slug]);
    else valid = fc.oneof({ arbitrary: real([world.main.slug]), weight: 6 }, { arbitrary: real([world.other.slug, 'no-such-workspace', world.throwaways[0]]), weight: 1 });
  } else if (name === 'id' && route.template.includes('/shares/')) valid = real([...world.throwawayShareIds, 'shr_nope']);
  else if (name === 'id') valid = real([...world.throwawayKeyIds, 'key_nope']);
  else if (name === 'room') valid = real(['standup', 'lobby', 'r:1@x.y']);
  else if (name === 'userId') valid = real(['u1', 'alice', '__proto__', 'constructor']);
  else valid = real(['x']);
  if (!hostile) return valid;
  return fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: hostileSegment, weight: 1 });
}

function encodeSegment({ raw, value }: { raw: boolean; value: string }): string {
  if (raw) return value;
  try {
    return encodeURIComponent(value);
  } catch {
    return value; // a lone surrogate: the URL parser writes it as it can
  }
}

/** One query parameter's value: valid from its schema, extreme, hostile. */
/** Realistic values of the query parameters the schema leaves as plain strings. */
const hour = 3_600_000;
const namedQuery: Record<string, string[]> = {
  from: [String(Date.now() - 2 * hour), new Date(Date.now() - 30 * 86_400_000).toISOString(), '2026-01-01'],
  to: [String(Date.now()), new Date(Date.now() + hour).toISOString()],
  type: ['page.view', 'message.sent', 'Order Completed'], room: ['standup', 'lobby'], userId: ['u1', 'alice'], country: ['DE', 'US'],
  platform: ['Web', 'iOS'], device: ['mobile', 'desktop'], browser: ['Chrome', 'Safari'], os: ['iOS', 'Windows'],
  metrics: ['events,users', 'events,users,sessions,errors,errorRate,bytesIn,bytesOut,value,durationAvg,durationP50,durationP95,durationP99', 'durationP99'],
  by: ['type', 'room', 'userId', 'country', 'platform', 'device', 'browser', 'os', 'error', 'property:plan', 'property:model'],
  compare: ['previous'],
};

function queryValueArb(schema: JsonSchema | undefined, hostile: boolean, name = ''): fc.Arbitrary<string> {
  const valid: string[] = [...(namedQuery[name] ?? [])];
  if (schema?.enum) valid.push(...schema.enum.map(String));
  if (schema?.type === 'integer' || schema?.type === 'number') {
    valid.push(String(schema.minimum ?? 0), String(schema.maximum ?? 100), String(schema.default ?? 10));
  }
  if (!valid.length) valid.push(...(schema?.example !== undefined ? [String(schema.example)] : []), String(Date.now() - 3_600_000), new Date(Date.now() - 86_400_000).toISOString(), 'events,users,durationP99', 'type', 'u1', 'standup', 'Web');
  if (!hostile) return fc.constantFrom(...valid);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 6 },
    { arbitrary: extremeNumber.map((n) => (typeof n === 'number' ? String(n) : n.text)), weight: 1 },
    { arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '0x10', ' 5', '5 ', '1e3', '', '-0', '00', '+1', '8.64e15', '-8.64e15', '99999999999999999999'), weight: 1 },
    { arbitrary: hostileString, weight: 1 },
  );
}

const reportParams = ['range', 'from', 'to'];
function queryArb(route: Route, hostile: boolean): fc.Arbitrary<Array<[string, string, boolean]>> {
  // A credential in the query (`key`, `token`) comes with the credential in clean cases.
  const params = (route.op.parameters ?? []).filter((p) => p.in === 'query' && (hostile || (p.name !== 'key' && p.name !== 'token' && p.name !== 'cursor')));
  const perParam = params.map((p) =>
    fc.tuple(fc.nat(9), queryValueArb(p.schema, hostile, p.name), fc.boolean()).map(([roll, value, raw]) => {
      // Required params nearly always, the time range often, the rest now and then; sometimes twice.
      const want = p.required ? roll < 9 || !hostile : reportParams.includes(p.name) ? roll < 5 : roll < 3;
      if (!want) return [] as Array<[string, string, boolean]>;
      const once: [string, string, boolean] = [p.name, value, raw && roll === 0];
      return roll === 1 && hostile ? [once, [p.name, 'x', false] as [string, string, boolean]] : [once];
    }),
  );
  // The report filters also take property.NAME; anything else is an unknown parameter (a 400).
  const isReport = params.some((p) => p.name === 'range');
  const extra = fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...(isReport ? ['property.plan', 'property.__proto__', 'property.', 'property.constructor', 'property.x.y'] : ['key']), 'unknown', 'limit', 'by', 'from', '__proto__'),
        hostileString,
      ),
      queryValueArb(undefined, true),
      fc.constant(false),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...perParam), fc.nat(3), extra).map(([ps, roll, ex]) => {
    const chosen = ps.flat();
    // A clean report asks for either a named range or from/to, as the contract wants.
    if (!hostile && chosen.some(([k]) => k === 'range')) return chosen.filter(([k]) => k !== 'from' && k !== 'to');
    return [...chosen, ...(roll === 0 && hostile ? ex : [])];
  });
}

const contentTypes = [
  'application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset=latin1', 'APPLICATION/JSON',
  'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/webhook+json',
  'application/json, text/plain', '', 'application/ld+json', 'application/octet-stream', 'application/json; charset=utf-16', 'text/event-stream',
];

/** Headers a careless or hostile client adds. */
const oddHeaders: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(
      ['content-encoding', 'gzip'], ['content-encoding', 'br'], ['content-encoding', 'gzip, deflate'], ['content-encoding', 'identity'],
      ['accept', 'text/event-stream'], ['accept', '*/*'], ['accept', 'text/html'], ['accept', 'application/json;q=0'],
      ['upgrade', 'websocket'], ['origin', 'https://evil.example'], ['origin', 'null'], ['origin', 'http://edgepulse.test'],
      ['cookie', 'ep_session=garbage'], ['cookie', 'ep_session='], ['x-forwarded-for', '::1, 999.1.1.1'], ['cf-connecting-ip', 'not-an-ip'],
      ['range', 'bytes=0-10'], ['if-none-match', '*'], ['accept-encoding', 'gzip, br, zstd'], ['x-http-method-override', 'DELETE'],
      ['webhook-id', 'msg_1'], ['webhook-timestamp', '1e400'], ['webhook-signature', 'v1,AAAA'], ['user-agent', ''],
    ),
    fc.tuple(fc.constantFrom('user-agent', 'x-fuzz', 'referer', 'accept-language', 'cookie', 'origin'), fc.constantFrom('a'.repeat(8000), 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)', '')),
    fc.tuple(fc.constantFrom('user-agent', 'origin', 'cookie'), headerSafe),
    fc.tuple(fc.constant('content-type'), fc.constantFrom(...contentTypes)),
  ),
  { maxLength: 3 },
);

/** How the body goes on the wire: as JSON, or broken in one of the ways clients break it. */
function encodeBody(text: string, how: number, cut: number): Body {
  const bytes = [...new TextEncoder().encode(text)];
  switch (how) {
    case 0: return { kind: 'text', text: `\ufeff${text}` }; // BOM
    case 1: return { kind: 'text', text: text.slice(0, Math.floor(text.length * (cut / 100))) }; // truncated
    case 2: return { kind: 'bytes', bytes: [...bytes.slice(0, cut % (bytes.length + 1)), 0xff, 0xfe, 0xc3, ...bytes.slice(cut % (bytes.length + 1))] }; // invalid UTF-8
    case 3: return { kind: 'bytes', bytes: [0xc0, 0xaf, 0xed, 0xa0, 0x80, ...bytes] }; // overlong and surrogate encodings
    case 4: return { kind: 'text', text: '' };
    case 5: return { kind: 'bytes', bytes: [0x1f, 0x8b, 0x08, 0x00, ...bytes.slice(0, 40)] }; // a gzip header on plain bytes
    case 6: {
      const utf16 = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i++) { utf16[2 * i] = text.charCodeAt(i) & 0xff; utf16[2 * i + 1] = text.charCodeAt(i) >> 8; }
      return { kind: 'bytes', bytes: [0xff, 0xfe, ...utf16.slice(0, 2000)] };
    }
    case 7: return { kind: 'huge', size: [1_048_577, 600_000, 40_000][cut % 3], fill: text.slice(0, 200) || 'x' };
    default: return { kind: 'text', text };
  }
}

function bodySchema(route: Route): JsonSchema | undefined {
  const content = route.op.requestBody?.content ?? {};
  return content['application/json']?.schema ?? supplementaryBody(route.key);
}

/** Requests for one route of the document: half clean (valid-shaped, the right credential), half hostile. */
export function requestArb(world: FuzzWorld, route: Route): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(requestsOf(world, route, false), requestsOf(world, route, true));
}

function requestsOf(world: FuzzWorld, route: Route, hostile: boolean): fc.Arbitrary<FuzzRequest> {
  const pathNames = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const pathArb = fc.tuple(...pathNames.map((n) => pathParamArb(world, route, n, hostile)));
  const schema = bodySchema(route);
  const sendsBody = route.method !== 'GET' && route.method !== 'HEAD';
  let valueArb = schema ? schemaArb(schema, schema, world.doc, hostile) : fc.constant(undefined);
  // Signing in takes a real key in its body; a generated string is only ever a 401.
  if (route.key === 'POST /api/v1/session' && !hostile) valueArb = fc.constantFrom(world.main.keys.read, world.main.keys.admin, world.other.keys.read, world.root, world.main.keys.ingest).map((key) => ({ key }));
  // 0–7 break the body in some way (see encodeBody); most cases send it as plain JSON.
  const encodingArb = !hostile ? fc.constant(8) : fc.oneof({ arbitrary: fc.constant(8), weight: 48 }, { arbitrary: fc.integer({ min: 0, max: 6 }), weight: 10 }, { arbitrary: fc.constant(7), weight: 1 });
  const methodArb = !hostile ? fc.constant(route.method) : fc.oneof({ arbitrary: fc.constant(route.method), weight: 40 }, { arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PUT'), weight: 1 });
  const signed = route.template.endsWith('/webhooks/livekit') || route.template.endsWith('/webhooks/standard');
  const signArb = signed && !hostile ? fc.constant(0) : signed
    ? fc.oneof({ arbitrary: fc.constantFrom(0, 0, 0, 30, -30), weight: 5 }, { arbitrary: fc.constantFrom(-600, 600, 1e9), weight: 1 }, { arbitrary: fc.constant(null), weight: 1 })
    : fc.constant(null);
  return fc
    .record({
      path: pathArb,
      query: queryArb(route, hostile),
      credential: credentialArb(world, route, hostile),
      contentType: fc.constantFrom(...(route.template === '/api/v1/collect' ? ['application/json', 'text/plain'] : ['application/json']), ...contentTypes),
      typeRoll: hostile ? fc.nat(9) : fc.nat(6),
      odd: !hostile ? fc.constant([] as Array<[string, string]>) : fc.oneof({ arbitrary: fc.constant([] as Array<[string, string]>), weight: 3 }, { arbitrary: oddHeaders, weight: 1 }),
      value: valueArb,
      encoding: encodingArb,
      cut: fc.nat(100),
      method: methodArb,
      sign: signArb,
    })
    .map((g): FuzzRequest => {
      let path = route.template;
      pathNames.forEach((n, i) => (path = path.replace(`{${n}}`, encodeSegment(g.path[i]))));
      const query: Array<[string, string, boolean]> = [...g.query];
      if (g.credential.query) query.push([...g.credential.query, false]);
      if (query.length) path += `?${query.map(([k, v, raw]) => `${encodeSegment({ raw, value: k })}=${encodeSegment({ raw, value: v })}`).join('&')}`;
      const headers: Array<[string, string]> = [...g.credential.headers];
      let body: Body | undefined;
      if (sendsBody && g.method !== 'HEAD' && (schema || g.typeRoll === 0)) {
        body = encodeBody(toJsonText(g.value), g.encoding, g.cut);
        // Usually the right Content-Type, sometimes a wrong one, sometimes none.
        if (g.typeRoll < 7) headers.push(['content-type', route.template === '/api/v1/collect' && g.typeRoll < 3 ? 'text/plain' : 'application/json']);
        else if (g.typeRoll === 7) headers.push(['content-type', g.contentType]);
      }
      headers.push(...g.odd);
      return {
        route: route.key, hostile, method: g.method, path, credential: g.credential.name, headers, body,
        ...(g.sign !== null && body ? { sign: { scheme: route.template.endsWith('livekit') ? 'livekit' : 'standard', skewSeconds: g.sign } } : {}),
      };
    });
}
