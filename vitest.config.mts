import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const migrations = await readD1Migrations(fileURLToPath(new URL('./migrations', import.meta.url)));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          ADMIN_TOKEN: 'test-root-token', SESSION_SECRET: 'test-session-secret', TEST_MIGRATIONS: migrations,
          // The route fuzzer's seed (replay a failure) and scale of cases; empty: a fresh seed, the default count.
          FUZZ_SEED: process.env.FUZZ_SEED ?? '', FUZZ_SCALE: process.env.FUZZ_SCALE ?? '', FUZZ_COLLECT: process.env.FUZZ_COLLECT ?? '',
        },
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/node/**'],
    setupFiles: ['./test/setup.ts'],
    testTimeout: 30_000,
  },
});
