// The client of the bench entry's stage route (bench/stages.ts): each stage of an event run on its
// own, timed where it runs; time per event in µs.

const DRAIN_UNIT_MAX = 100;
const CALLS_PER_REQUEST = 500;
const EVENTS_PER_REQUEST = 20_000;

/** A POST, sent again once when the connection was reset before an answer (a kept-alive socket closed by the server while idle). */
async function post(url, body, what) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'edgepulse-bench/1 (X11; Linux x86_64) Chrome/130.0' }, body });
    } catch (err) {
      if (attempt >= 2 || !/ECONNRESET|socket/i.test(String(err.cause ?? err))) throw new Error(`${what}: ${err.cause ?? err}`);
    }
  }
}

/**
 * Runs one stage: `size` events a unit (a request's events, or a drain's), `total` events about, `inFlight` units at once.
 * `make(n)` returns n raw events. Returns µs per event (per call for `bare`).
 */
export async function stageMicros(url, workspace, stage, { size, total, inFlight, make }) {
  // A unit of more than 100 events goes as 100 events `copies` times over (a request holds at most 500).
  const per = Math.min(size, DRAIN_UNIT_MAX);
  const copies = Math.max(1, Math.round(size / per));
  const repeat = Math.max(3, Math.min(10_000, Math.ceil(total / (per * copies))));
  // At most CALLS_PER_REQUEST calls and EVENTS_PER_REQUEST events a request: one request that runs for long is reset.
  const perRequest = Math.max(1, Math.min(repeat, CALLS_PER_REQUEST, Math.floor(EVENTS_PER_REQUEST / (per * copies))));
  let ms = 0;
  let handled = 0;
  for (let done = 0; done < repeat; done += perRequest) {
    const body = JSON.stringify({ stage, workspace, events: make(per), copies, repeat: Math.min(perRequest, repeat - done), inFlight });
    const res = await post(`${url}/api/v1/bench/stage`, body, `stage ${stage} (${per * copies} events a unit)`);
    if (res.status !== 200) throw new Error(`stage ${stage}: ${res.status} ${await res.text()}`);
    const out = await res.json();
    ms += out.ms;
    handled += stage === 'bare' ? out.calls : out.events;
  }
  return (ms * 1000) / handled;
}

/**
 * A case's stages: the hub call and the hub commit with the case's request size and concurrency,
 * the archive write and the drain's D1 batch with the case's mean drain size, one drain at a time.
 */
export async function caseStages(url, workspace, { requestSize, inFlight, drainSize, hubTotal, drainTotal, make }) {
  const run = (stage, size, total, n) => stageMicros(url, workspace, stage, { size, total, inFlight: n, make });
  return {
    hubCall: await run('hub-call', requestSize, hubTotal, inFlight),
    hubCommit: await run('hub-commit', requestSize, hubTotal, inFlight),
    archive: await run('archive', drainSize, drainTotal, 1),
    drainD1: await run('drain-d1', drainSize, drainTotal, 1),
  };
}
