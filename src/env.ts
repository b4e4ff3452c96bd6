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
