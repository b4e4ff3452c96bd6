import { errors, jwtVerify } from 'jose';

/** How far LiveKit's clock may be from ours when checking `exp`/`nbf`. */
const CLOCK_TOLERANCE_S = 30;

const toBase64 = (buf: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buf)));

/** The JWT from an `Authorization` header: LiveKit sends it bare; `Bearer ` is accepted too. */
export function livekitToken(header: string | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  return value.replace(/^Bearer\s+/i, '').trim() || undefined;
}

/**
 * Checks a LiveKit webhook as LiveKit's own WebhookReceiver does: an HS256 JWT signed with the API
 * secret, issued by the API key, whose `sha256` claim is the base64 SHA-256 of the raw body.
 * Returns null when valid, else why not.
 */
export async function verifyLivekitWebhook(
  rawBody: string,
  token: string | undefined,
  creds: { apiKey: string; apiSecret: string },
): Promise<string | null> {
  if (!token) return 'missing Authorization header with the LiveKit webhook token';
  let claims: Record<string, unknown>;
  try {
    const result = await jwtVerify(token, new TextEncoder().encode(creds.apiSecret), {
      algorithms: ['HS256'],
      issuer: creds.apiKey,
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    claims = result.payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) return 'the webhook token has expired';
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iss') return 'the webhook token was issued by another API key';
    return 'the webhook token is not signed with this workspace’s LiveKit API secret';
  }
  const hash = toBase64(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(rawBody)));
  if (claims.sha256 !== hash) return 'the body does not match the token’s sha256 claim';
  return null;
}
