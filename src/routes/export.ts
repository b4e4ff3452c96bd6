import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { PARQUET_CONTENT_TYPE } from '../archive';
import { requireAccess } from '../auth/middleware';
import type { AppEnv } from '../env';
import { EXPORT_COLUMNS, exportStream } from '../history/export';
import { exportParquetStream } from '../history/export-parquet';
import { rawSource } from '../history/raw/source';
import { LIMITS } from '../shared/limits';
import { authErrors, bearer, WsParams } from './openapi';
import { PROPERTY_FILTERS, ReportParams, reportQuery } from './stats';

export const exportRoutes = new OpenAPIHono<AppEnv>();

const EXTENSIONS = { csv: 'csv', ndjson: 'ndjson', parquet: 'parquet' } as const;

exportRoutes.openapi(
  createRoute({
    method: 'get', path: '/workspaces/{ws}/export', tags: ['Reports'], security: bearer,
    summary: 'The raw events of the range as CSV, NDJSON or Parquet, streamed (read key)',
    description: `Read from the R2 archive (hour partitions, row groups skipped by their \`ts\` statistics) and the hub’s not-yet-drained outbox: every acknowledged event of the range once, oldest first by (timestamp, id), streamed as the client reads (about ${LIMITS.exportPageRows} rows, or one Parquet row group, at a time), so an export of millions of rows never sits in memory. CSV is RFC 4180 with a header row (${EXPORT_COLUMNS.join(', ')}); properties and context are JSON text. For spreadsheets: a text cell that would run as a formula (starting with \`=\`, \`+\`, \`-\`, \`@\`, tab or carriage return) is written with a leading \`'\` so it stays text, numeric columns stay plain numbers (negative ones too), and NUL characters are stripped from every cell. NDJSON has one stored event per line. \`format=parquet\` is ONE Parquet file with the archive's columns and types (API.md "The archive"), SNAPPY, row groups of up to 10,000 rows: open it with DuckDB, pandas or Spark. Only events within the raw retention exist. ${PROPERTY_FILTERS}`,
    middleware: [requireAccess('people')] as const,
    request: { params: WsParams, query: ReportParams.extend({ format: z.enum(['csv', 'ndjson', 'parquet']).default('ndjson') }) },
    responses: {
      200: {
        description: 'The events, with Content-Disposition: attachment',
        content: {
          'text/csv': { schema: z.string() },
          'application/x-ndjson': { schema: z.string() },
          [PARQUET_CONTENT_TYPE]: { schema: z.string().meta({ format: 'binary' }) },
        },
      },
      ...authErrors,
    },
  }),
  (c) => {
    const p = c.req.valid('query');
    const ws = c.get('workspace');
    const q = reportQuery(ws, p);
    const scope = { workspaceId: ws.id, from: q.from, to: q.to, filters: q.filters };
    const stamp = (t: number) => new Date(t).toISOString().replace(/[:.]/g, '-');
    const name = `${ws.slug}-events-${stamp(q.from)}-${stamp(q.to)}.${EXTENSIONS[p.format]}`;
    const src = rawSource(c.env, ws.id);
    const body = p.format === 'parquet' ? exportParquetStream(src, scope) : exportStream(src, scope, p.format);
    const type = p.format === 'csv' ? 'text/csv; charset=utf-8; header=present' : p.format === 'ndjson' ? 'application/x-ndjson; charset=utf-8' : PARQUET_CONTENT_TYPE;
    return new Response(body, {
      status: 200,
      headers: { 'content-type': type, 'content-disposition': `attachment; filename="${name}"`, 'cache-control': 'no-store' },
    }) as never;
  },
);
