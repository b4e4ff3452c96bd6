import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { EXPORT_COLUMNS, exportStream } from '../history/export';
import { rawWhere } from '../history/raw-events';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, WsParams } from './openapi';
import { PROPERTY_FILTERS, ReportParams, reportQuery } from './stats';

export const exportRoutes = new OpenAPIHono<AppEnv>();

exportRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/export', tags: ['Reports'], security: bearer,
    summary: 'The raw events of the range as CSV or NDJSON, streamed (read key)',
    description: `Oldest first, read ${LIMITS.exportPageRows} rows at a time as the client reads, so an export of millions of rows never sits in memory. CSV is RFC 4180 with a header row (${EXPORT_COLUMNS.join(', ')}); properties and context are JSON text. For spreadsheets: a text cell that would run as a formula (starting with \`=\`, \`+\`, \`-\`, \`@\`, tab or carriage return) is written with a leading \`'\` so it stays text, numeric columns stay plain numbers (negative ones too), and NUL characters are stripped from every cell. NDJSON has one stored event per line. Only events within the raw retention exist. ${PROPERTY_FILTERS}`,
    middleware: [requireAccess('read')] as const,
    request: { params: WsParams, query: ReportParams.extend({ format: z.enum(['csv', 'ndjson']).default('ndjson') }) },
    responses: {
      200: {
        description: 'The events, with Content-Disposition: attachment',
        content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
      },
      ...authErrors,
    },
  }),
  (c) => {
    const p = c.req.valid('query');
    const ws = c.get('workspace');
    const q = reportQuery(ws, p);
    const { where, binds } = rawWhere(q, undefined, q.to); // the stream's keyset cursor starts at q.from
    const stamp = (t: number) => new Date(t).toISOString().replace(/[:.]/g, '-');
    const name = `${ws.slug}-events-${stamp(q.from)}-${stamp(q.to)}.${p.format === 'csv' ? 'csv' : 'ndjson'}`;
    const body = exportStream(c.env.DB, { workspaceId: ws.id, from: q.from, to: q.to, where, binds }, p.format);
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': p.format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      },
    }) as never;
  },
);
