import { exports } from 'cloudflare:workers';
import { AccessToken } from 'livekit-server-sdk';
import { Webhook } from 'standardwebhooks';
import type { Body, FuzzRequest, FuzzWorld } from './requests';

export interface FuzzResponse {
  status: number;
  text: string;
  /** Headers the runtime itself refused to send (as a browser would refuse them too). */
  dropped: string[];
}

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

function bodyBytes(body: Body): Uint8Array | string {
  if (body.kind === 'text') return body.text;
  if (body.kind === 'bytes') return new Uint8Array(body.bytes);
  return (body.fill + 'x'.repeat(body.size)).slice(0, body.size);
}

/** The request as a reader wants it in a failure report. */
export function formatRequest(req: FuzzRequest): string {
  const lines = [`${req.method} ${clip(req.path, 400)}   [route ${req.route}; ${req.hostile ? 'hostile' : 'clean'}; credential: ${req.credential}${req.sign ? `; ${req.sign.scheme} signature, clock ${req.sign.skewSeconds}s off` : ''}]`];
  for (const [k, v] of req.headers) lines.push(`${k}: ${clip(v)}`);
  if (req.body?.kind === 'text') lines.push('', clip(JSON.stringify(req.body.text), 2000));
  else if (req.body?.kind === 'bytes') lines.push('', `bytes: ${req.body.bytes.slice(0, 300).map((b) => b.toString(16).padStart(2, '0')).join(' ')}${req.body.bytes.length > 300 ? ` …(${req.body.bytes.length} bytes)` : ''}`);
  else if (req.body?.kind === 'huge') lines.push('', `${req.body.size} bytes: ${JSON.stringify(req.body.fill.slice(0, 80))} then "x" repeated`);
  return lines.join('\n');
}

let webhookSeq = 0;

async function signatureHeaders(world: FuzzWorld, req: FuzzRequest, payload: Uint8Array | string): Promise<Array<[string, string]>> {
  if (!req.sign) return [];
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  const at = new Date(Date.now() + req.sign.skewSeconds * 1000);
  if (req.sign.scheme === 'standard') {
    const id = `msg_fuzz${webhookSeq++}`;
    const signature = new Webhook(world.webhookSecret).sign(id, at, text);
    return [['webhook-id', id], ['webhook-timestamp', String(Math.floor(at.getTime() / 1000))], ['webhook-signature', signature]];
  }
  const token = new AccessToken(world.livekit.apiKey, world.livekit.apiSecret, { ttl: req.sign.skewSeconds < 0 ? '1s' : '5m' });
  const raw = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', raw))));
  return [['authorization', await token.toJwt()]];
}

/** Sends one request through the real Worker and reads its whole answer (a stream only its start). */
export async function send(world: FuzzWorld, req: FuzzRequest): Promise<FuzzResponse> {
  const headers = new Headers();
  const dropped: string[] = [];
  const payload = req.body ? bodyBytes(req.body) : undefined;
  for (const [k, v] of [...req.headers, ...(payload !== undefined ? await signatureHeaders(world, req, payload) : [])]) {
    try {
      headers.append(k, v);
    } catch {
      dropped.push(k); // a value no HTTP client can send (control characters, code points > 255)
    }
  }
  let request: Request;
  try {
    request = new Request(`http://edgepulse.test${req.path}`, { method: req.method, headers, body: req.method === 'HEAD' ? undefined : payload });
  } catch (err) {
    // The URL or method cannot be sent at all: nothing reached the Worker.
    return { status: 0, text: `not sendable: ${String(err)}`, dropped };
  }
  const res = await exports.default.fetch(request);
  const ws = (res as Response & { webSocket?: WebSocket | null }).webSocket;
  if (ws) {
    ws.accept();
    ws.close(1000, 'fuzz');
    return { status: res.status, text: '(websocket)', dropped };
  }
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, text: first.value ? new TextDecoder().decode(first.value) : '', dropped };
  }
  return { status: res.status, text: await res.text(), dropped };
}
