import { defineConfig } from 'vitest/config';

// End-to-end tests run in Node against a real `wrangler dev` with real clients.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
