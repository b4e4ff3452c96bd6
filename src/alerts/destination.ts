/**
 * Where deliveries may go: `https:` anywhere; plain `http:` only to a loopback host and only while
 * the product itself runs on loopback (`npm start`), so a deployed Worker never posts in clear text.
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || hostname.endsWith('.localhost');
}

/** Why `url` cannot receive deliveries from a server reached at `requestUrl`, or null when it can. */
export function destinationProblem(url: string, requestUrl: string): string | null {
  let dest: URL;
  try {
    dest = new URL(url);
  } catch {
    return 'must be an absolute URL such as https://hooks.example.com/edgepulse';
  }
  if (dest.username || dest.password) return 'must not carry a user name or password';
  if (dest.protocol === 'https:') return null;
  if (dest.protocol !== 'http:') return 'must be an https: URL';
  const local = isLoopback(new URL(requestUrl).hostname);
  if (!local) return 'must be an https: URL (plain http: is allowed only to localhost while running locally)';
  if (!isLoopback(dest.hostname)) return 'must be an https: URL (plain http: only to localhost)';
  return null;
}

/** The dashboard origin deliveries link to: PUBLIC_URL when set, else the origin the rule was written from. */
export function dashboardOrigin(publicUrl: string | undefined, savedOrigin: string | null | undefined): string {
  const configured = publicUrl?.trim();
  if (configured) return configured.replace(/\/+$/, '');
  return savedOrigin ?? '';
}
