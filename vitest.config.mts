import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The route fuzzer takes minutes: started first, the other files run beside it rather than after it. */
class FuzzFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isFuzz = (f: TestSpecification) => f.moduleId.endsWith('fuzz-routes.test.ts');
    return [...sorted.filter(isFuzz), ...sorted.filter((f) => !isFuzz(f))];
  }
}

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
    // A Node HTTP receiver for outgoing webhooks (delivery tests): workerd's fetch reaches it on loopback.
    globalSetup: ['./test/node/webhook-receiver-setup.ts'],
    testTimeout: 30_000,
    sequence: { sequencer: FuzzFirst },
    // Vitest's default is one worker on a 2-core machine; two halve the suite (each file has its own storage).
    maxWorkers: 2,
  },
});
