// The Worker's cron under `npm start`: wrangler dev never fires it by itself. Fired through wrangler's
// `--test-scheduled` route /__scheduled, because its /cdn-cgi/handler/scheduled fails for a Worker
// with static assets (see README, "Local mode").

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Fires the scheduled handler on a wall-clock grid of `periodMs` (300,000: minutes 0, 5, 10… like
 * Cloudflare's `*\/5 * * * *`), logging one line a run; a run is skipped while the runtime is down.
 * Returns a function that stops it.
 */
export function runCron({ baseUrl, cron, periodMs, isUp, log, warn, timeoutMs = 120_000 }) {
  let stopped = false;
  let wake;
  (async () => {
    while (!stopped) {
      const next = Math.ceil((Date.now() + 1) / periodMs) * periodMs;
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, next - Date.now()).unref();
      });
      if (stopped) return;
      if (!isUp()) {
        warn(`cron ${cron}: skipped, the runtime is restarting`);
        continue;
      }
      const began = Date.now();
      try {
        const res = await fetch(`${baseUrl}/__scheduled?cron=${encodeURIComponent(cron)}`, { signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.ok) log(`cron ${cron}: ran in ${Date.now() - began} ms`);
        else warn(`cron ${cron}: FAILED with ${res.status}: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
      } catch (err) {
        warn(`cron ${cron}: FAILED: ${err?.cause?.code ?? err?.message ?? err}`);
      }
      await sleep(10); // never twice in the same grid slot
    }
  })();
  return () => {
    stopped = true;
    wake?.();
  };
}
