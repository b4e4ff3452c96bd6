import type { ScrapeLive } from './scrape-live';

/** What a WorkspaceHub answers to operations (benchmarks, /metrics), and the header its fetch trusts. */

export interface HubUsage {
  rowsWritten: number;
  d1RowsWritten: number;
  /** Objects written to the R2 archive since the hub started. */
  archivePuts: number;
  pendingBatches: number;
  drainFailures: number;
}

export interface HubScrape {
  onlineUsers: number;
  connections: number;
  /** Batches acknowledged but not yet in D1, and how long the oldest has waited. */
  outboxBatches: number;
  outboxLagSeconds: number;
  /** Failed drains in a row (0 once one succeeds). */
  drainFailures: number;
  /** Batches set aside because D1 refused them (GET …/dead-letters). */
  deadLetterBatches: number;
  /** Online users by platform, each gauge's latest sample, and the busiest rooms (LIMITS.metricsRoomsMax) with how many rooms are in use. */
  live: ScrapeLive;
}

/** Header carrying the workspace (trusted: only the Worker reaches a hub's fetch). */
export const WORKSPACE_HEADER = 'x-edgepulse-workspace';
