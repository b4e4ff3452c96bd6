import { z } from '@hono/zod-openapi';
import { ErrorBodySchema } from '../shared/errors';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const errorResponse = (description: string) => json(ErrorBodySchema, description);

/** The error answers every authenticated route may give. */
export const authErrors = {
  400: errorResponse('Invalid request: bad JSON, schema violation or bad query parameter'),
  401: errorResponse('No or unknown credential'),
  403: errorResponse('A valid credential that may not do this, or another workspace’s key'),
  404: errorResponse('Not found'),
} as const;

export const errorResponses = (...statuses: Array<409 | 413 | 415 | 429>) =>
  Object.fromEntries(statuses.map((s) => [s, errorResponse(
    { 409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 429: 'Over the workspace’s rate limit (`rateLimit` on the workspace): nothing of the request stored; send it again after `Retry-After` seconds' }[s],
  )])) as Record<409 | 413 | 415 | 429, ReturnType<typeof errorResponse>>;

export const WsParams = z.object({
  ws: z.string().meta({ param: { name: 'ws', in: 'path' }, example: 'demo', description: 'Workspace slug' }),
});

export const bearer = [{ bearer: [] as string[] }];
