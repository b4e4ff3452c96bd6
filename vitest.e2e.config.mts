import { defineConfig } from 'vitest/config';

/** Files that spend minutes waiting on the clock (alert windows, crons, retry backoff, share expiry), not on the CPU. */
const WAITING = ['test/e2e/alerts.test.ts', 'test/e2e/deliveries.test.ts', 'test/e2e/start-cron.test.ts', 'test/e2e/share-links.test.ts'];

const shared = { environment: 'node', testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false } as const;

// End-to-end tests run in Node against a real `wrangler dev` with real clients, one file at a time in each project
// (each starts its own server). `npm run test:e2e` runs the two projects side by side (scripts/test-e2e.mjs), so the
// waiting files overlap the busy ones; `vitest run --config vitest.e2e.config.mts` runs them one after the other.
export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: WAITING } },
      { test: { ...shared, name: 'e2e-waiting', include: WAITING } },
    ],
  },
});
