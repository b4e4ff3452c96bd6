import type { Context } from 'hono';
import type { Principal } from './auth/credentials';
import type { WorkspaceRow } from './history/workspaces';

/** Hono's environment: the bindings (typed by `wrangler types`) and what middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    principal: Principal;
    workspace: WorkspaceRow;
  };
}

/** Benchmark references are on only when the Worker runs with `--var BENCH:1` (bench/), never deployed so. */
export const benchOn = (c: Context<AppEnv>): boolean => (c.env as unknown as { BENCH?: string }).BENCH === '1';
