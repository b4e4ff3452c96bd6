import { z } from 'zod';
import { GRANULARITIES } from './report-params';

/** Gauge reports (API.md, "Reports, continued"): the dashboard imports these. */

export const GaugePoint = z
  .object({
    t: z.string().describe('bucket start (ISO, UTC)'),
    min: z.number().nullable(),
    avg: z.number().nullable().describe('mean of the samples in the bucket'),
    max: z.number().nullable(),
    last: z.number().nullable().describe('the latest sample in the bucket (by event time)'),
    samples: z.number().int(),
  })
  .meta({ id: 'GaugePoint', description: 'The samples of one gauge in one bucket; a bucket without samples has samples 0 and nulls' });
export type GaugePoint = z.infer<typeof GaugePoint>;

export const GaugeSeries = z
  .object({ name: z.string(), granularity: z.enum(GRANULARITIES), points: z.array(GaugePoint) })
  .meta({ id: 'GaugeSeries' });
export type GaugeSeries = z.infer<typeof GaugeSeries>;

export const GaugeNames = z
  .object({ names: z.array(z.string()).describe('gauge names with samples in the range, sorted') })
  .meta({ id: 'GaugeNames' });
export type GaugeNames = z.infer<typeof GaugeNames>;
