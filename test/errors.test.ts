import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { handleError } from '../src/app';
import type { AppEnv } from '../src/env';
import { ApiError } from '../src/errors';

/** A throwaway app with the real error handler, so each kind of failure can be thrown on purpose. */
function appThrowing(err: unknown) {
  const app = new Hono<AppEnv>();
  app.get('/boom', () => {
    throw err;
  });
  app.onError(handleError);
  return app;
}

describe('the one error handler', () => {
  it('renders an ApiError with its code, status and issues', async () => {
    const res = await appThrowing(new ApiError('conflict', 'taken', [{ path: 'slug', message: 'taken' }])).request('/boom');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: 'conflict', message: 'taken', issues: [{ path: 'slug', message: 'taken' }] } });
  });

  it('answers a retryable Durable Object or D1 failure with 503 and Retry-After, not 500', async () => {
    const err = Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: true });
    const res = await appThrowing(err).request('/boom');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  });

  it('hides an unexpected error behind 500 internal', async () => {
    const res = await appThrowing(new Error('secret detail')).request('/boom');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });
});
