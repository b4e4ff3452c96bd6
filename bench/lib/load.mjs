// Closed-loop load: `concurrency` clients, each sending its next request when the last is answered.
import { Pool } from 'undici';

/**
 * Runs `next()` requests against `origin` for `seconds` (after a short unmeasured warm-up) and
 * returns requests/s and events/s of the answers that had `expect` status.
 */
export async function measure({ origin, label, seconds, concurrency = 32, warmupSeconds = 1, expect = 200, next, quiet = false }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const counters = { requests: 0, events: 0, failures: 0, lastFailure: '' };
  /** Including the warm-up: what a drain behind the case must still move. */
  let allEvents = 0;
  const began = Date.now();
  let measuring = false;
  const warmupEnd = Date.now() + warmupSeconds * 1000;
  const end = warmupEnd + seconds * 1000;
  let started = 0;

  const tick = setInterval(() => {
    if (!measuring || quiet) return;
    const s = (Date.now() - started) / 1000;
    process.stdout.write(`    ${label}: ${s.toFixed(0)}/${seconds} s, ${Math.round(counters.requests / s)} req/s, ${Math.round(counters.events / s)} events/s\n`);
  }, 2000);

  const client = async () => {
    while (Date.now() < end) {
      const req = next();
      let status = 0;
      let text = '';
      try {
        const res = await pool.request({ origin, method: req.method, path: req.path, headers: req.headers, body: req.body });
        status = res.statusCode;
        text = status === expect ? (await res.body.dump(), '') : await res.body.text();
      } catch (err) {
        text = String(err);
      }
      if (!measuring && Date.now() >= warmupEnd) {
        measuring = true;
        started = Date.now();
        counters.requests = counters.events = counters.failures = 0;
      }
      if (status === expect) {
        allEvents += req.events ?? 0;
        counters.requests++;
        counters.events += req.events ?? 0;
      } else {
        counters.failures++;
        counters.lastFailure = `${status} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  clearInterval(tick);
  const elapsed = started ? (Date.now() - started) / 1000 : 0;
  await pool.close();
  if (counters.failures) process.stdout.write(`    ${label}: ${counters.failures} failed requests, last: ${counters.lastFailure}\n`);
  return { requestsPerSecond: elapsed ? counters.requests / elapsed : 0, eventsPerSecond: elapsed ? counters.events / elapsed : 0, requests: counters.requests, events: counters.events, failures: counters.failures, seconds: elapsed, all: { events: allEvents, seconds: (Date.now() - began) / 1000 } };
}
