import { defineConfig } from 'vitest/config';

// Tests that need Node itself (DuckDB's native module) but no server: the archive as a user's tools read it.
export default defineConfig({
  test: {
    include: ['test/node/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    fileParallelism: false,
  },
});
