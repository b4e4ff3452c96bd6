import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { Principal } from './credentials';

/** What every refusal to a share link says. */
export const SHARE_AGGREGATES_ONLY = 'a share link shows aggregates only';

export function shareForbidden(what: string): ApiError {
  return new ApiError('forbidden', `${SHARE_AGGREGATES_ONLY}: ${what} is not shown to it`);
}

/**
 * Per-user questions on routes a share may otherwise use: a `userId` filter (any report) and a
 * breakdown by user name users, so they answer 403 to a share like the event log does.
 */
export function refusePeopleQuery(c: Context<AppEnv>, principal: Principal): void {
  if (principal.kind !== 'share') return;
  if (c.req.query('userId') !== undefined) throw shareForbidden('the userId filter');
  if (c.req.query('by') === 'userId') throw shareForbidden('a breakdown by userId');
}
