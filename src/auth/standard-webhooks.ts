import { LIMITS } from '../shared/limits';
import { secretsEqual } from './secrets';

export interface StandardWebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

function fromBase64(s: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * Standard Webhooks (standardwebhooks.com): `v1,` base64 HMAC-SHA256 of `id.timestamp.body` under the
 * `whsec_` secret; any of the space-separated signatures may match; the timestamp within ±5 minutes.
 * Returns null when valid, else why not.
 */
export async function verifyStandardWebhook(rawBody: string, h: StandardWebhookHeaders, secret: string, now = Date.now()): Promise<string | null> {
  if (!h.id || !h.timestamp || !h.signature) return 'send the webhook-id, webhook-timestamp and webhook-signature headers';
  const seconds = Number(h.timestamp);
  if (!/^\d{1,12}$/.test(h.timestamp) || !Number.isFinite(seconds)) return 'webhook-timestamp: not a Unix time in seconds';
  if (Math.abs(now - seconds * 1000) > LIMITS.webhookToleranceMs) return 'webhook-timestamp: more than 5 minutes from now (stale or replayed)';
  const keyBytes = fromBase64(secret.replace(/^whsec_/, ''));
  if (!keyBytes) return 'the workspace’s webhook secret is not base64';
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${h.id}.${h.timestamp}.${rawBody}`));
  const expected = btoa(String.fromCharCode(...new Uint8Array(mac)));
  for (const part of h.signature.split(' ')) {
    const [version, sig] = part.split(',', 2);
    if (version === 'v1' && sig && (await secretsEqual(sig, expected))) return null;
  }
  return 'webhook-signature: no v1 signature matches';
}
