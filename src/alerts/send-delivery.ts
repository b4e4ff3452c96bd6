import { Webhook } from 'standardwebhooks';
import { LIMITS } from '../shared/limits';
import type { DeliveryJob } from './delivery-job';
import { slackBody } from './slack-body';

/** What one attempt got: `ok` only for a 2xx answer within the timeout. */
export interface AttemptResult {
  ok: boolean;
  /** The HTTP status; null when no answer came (timeout, refused, DNS). */
  status: number | null;
  error: string | null;
}

/** Characters of a transport error kept in the deliveries log. */
const ERROR_MAX_CHARS = 300;

/** The body POSTed for a job: the Standard Webhooks JSON, or Slack's `{ text, blocks }`. */
export function deliveryBody(job: DeliveryJob): string {
  return JSON.stringify(job.destination.format === 'slack' ? slackBody(job.payload) : job.payload);
}

/**
 * The Standard Webhooks headers for `body` sent at `at` under the job's secret (Slack bodies are
 * signed too: harmless to Slack, useful to a relay that checks them).
 */
export function deliveryHeaders(job: DeliveryJob, body: string, at: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'edgepulse-webhooks/1',
    'webhook-id': job.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(job.secret).sign(job.id, at, body),
  };
}

/** One attempt: a signed POST, cut off after LIMITS.deliveryTimeoutMs; redirects are not followed (a 3xx is a failure). */
export async function sendDelivery(job: DeliveryJob, at: Date = new Date(), timeoutMs: number = LIMITS.deliveryTimeoutMs): Promise<AttemptResult> {
  const body = deliveryBody(job);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(job.destination.url, { method: 'POST', headers: deliveryHeaders(job, body, at), body, redirect: 'manual', signal });
    // The answer's body is not needed; cancelling frees the connection.
    await res.body?.cancel().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `answered HTTP ${res.status}` };
  } catch (err) {
    if (signal.aborted) return { ok: false, status: null, error: `no answer within ${timeoutMs / 1000} s` };
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, status: null, error: message.length > ERROR_MAX_CHARS ? `${message.slice(0, ERROR_MAX_CHARS - 1)}…` : message };
  }
}
