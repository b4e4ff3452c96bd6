// Dollars per million events at Cloudflare's list prices (Workers Paid), from what a case used.

/** Dollars per million units. */
export const PRICES = {
  workerRequests: 0.3,
  doRequests: 0.15,
  /** Durable Object duration: $12.50 per million GB-s, billed at 128 MB while the object is active. */
  doGbSeconds: 12.5,
  doGb: 0.128,
  rowsWritten: 1.0,
  /** R2 Class A (put, list) and Class B (get, head); deletes are free. */
  r2ClassA: 4.5,
  r2ClassB: 0.36,
};

/**
 * One case's bill per million events. `usage`: per event — Worker requests, hub RPCs, drains (one
 * alarm each, a Durable Object request), rows written, archive puts; `activeSeconds` per event (the
 * hub is never idle during a case, so its wall time is billed); `eventsPerHour` for the compaction
 * of each workspace-hour (one list, one put, one get per part read).
 */
export function dollarsPerMillion({ requests, hubCalls, drains, rows, puts, activeSeconds, eventsPerHour }) {
  const compactionClassA = 2 / eventsPerHour;
  const lines = {
    'Workers requests': requests * PRICES.workerRequests,
    'DO requests (RPC + drain alarms)': (hubCalls + drains) * PRICES.doRequests,
    'DO duration (estimate)': activeSeconds * PRICES.doGb * PRICES.doGbSeconds,
    'rows written': rows * PRICES.rowsWritten,
    'R2 Class A (puts, compaction)': (puts + compactionClassA) * PRICES.r2ClassA,
    'R2 Class B (compaction reads)': puts * PRICES.r2ClassB,
  };
  const total = Object.values(lines).reduce((a, b) => a + b, 0);
  const [dominant] = Object.entries(lines).sort((a, b) => b[1] - a[1]);
  return { lines, total, dominant: dominant[0] };
}
