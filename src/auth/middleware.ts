import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../errors';
import type { AppEnv } from '../env';
import { db, findWorkspace } from '../history/workspaces';
import { allows, resolveSecret, type Access, type Principal } from './credentials';
import { sessionPrincipal } from './session';
import { refusePeopleQuery, SHARE_AGGREGATES_ONLY } from './share-access';

export function bearerSecret(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}

/** Other ways of presenting a credential (the live token) plug in here. */
export type CredentialSource = (c: Context<AppEnv>) => Promise<Principal | null | undefined>;
const extraSources: CredentialSource[] = [];
export function addCredentialSource(source: CredentialSource): void {
  extraSources.push(source);
}

export async function authenticate(c: Context<AppEnv>, secret = bearerSecret(c)): Promise<Principal> {
  if (secret) {
    const principal = await resolveSecret(db(c.env.DB), secret, c.env.ADMIN_TOKEN);
    if (!principal) throw new ApiError('unauthorized', 'unknown or revoked credential');
    return principal;
  }
  for (const source of extraSources) {
    const principal = await source(c);
    if (principal) return principal;
  }
  // The dashboard's session cookie comes last: a page of another origin on the same site sends it
  // along with its own ?token=, which must win over the cookie's origin check.
  const session = await sessionPrincipal(c);
  if (session) return session;
  throw new ApiError('unauthorized', 'send a credential as "Authorization: Bearer <key>"');
}

/** Authenticates and, for `/workspaces/{ws}/…` routes, loads the workspace and checks access. */
export function requireAccess(access: Access, opts: { secret?: (c: Context<AppEnv>) => string | undefined } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = await authenticate(c, opts.secret?.(c) ?? bearerSecret(c));
    c.set('principal', principal);
    const slug = c.req.param('ws');
    if (slug !== undefined) {
      const workspace = await findWorkspace(db(c.env.DB), slug);
      if (!workspace) {
        // Only root may learn whether a workspace exists.
        if (principal.kind === 'root') throw new ApiError('not_found', `no workspace "${slug}"`);
        throw new ApiError('forbidden', 'this credential belongs to another workspace');
      }
      if (allows(principal, access, workspace.id) === 'forbidden') throw forbidden(principal, access, workspace.id);
      c.set('workspace', workspace);
    } else if (allows(principal, access) === 'forbidden') {
      throw forbidden(principal, access);
    }
    refusePeopleQuery(c, principal);
    await next();
  };
}

function forbidden(principal: Principal, access: Access, workspaceId?: string): ApiError {
  if (principal.kind !== 'root' && workspaceId && principal.workspaceId !== workspaceId) {
    return new ApiError('forbidden', 'this credential belongs to another workspace');
  }
  if (principal.kind === 'share') {
    return new ApiError('forbidden', `${SHARE_AGGREGATES_ONLY} (live numbers, reports, breakdowns, rooms): ${access === 'people' ? 'raw events and user ids are' : 'settings, keys and administration are'} not shown to it`);
  }
  const need = access === 'root' ? 'the root token' : access === 'ingest' ? 'an ingest or admin key' : access === 'read' || access === 'people' ? 'a read or admin key' : 'an admin key';
  return new ApiError('forbidden', `this needs ${need}`);
}
