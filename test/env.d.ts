import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** test/fuzz-routes: seed, scale of cases, and 1 to list every 5xx instead of stopping at the first. */
      FUZZ_SEED: string;
      FUZZ_SCALE: string;
      FUZZ_COLLECT: string;
    }
  }
}
