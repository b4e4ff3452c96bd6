import { z } from 'zod';

/** Growth reports (API.md "Reports, continued"): retention cohorts. The dashboard imports these. */

/** What a cohort groups users by: the day, week (Monday) or month of their first event, in the workspace's time zone. */
export const COHORT_GRAINS = ['day', 'week', 'month'] as const;
export type CohortGrain = (typeof COHORT_GRAINS)[number];

export const Cohort = z
  .object({
    start: z.string().meta({ description: 'Start of the cohort period (ISO, UTC)' }),
    users: z.number().int().meta({ description: 'Users first seen in the period (exact, over the workspace’s whole history)' }),
    returning: z.array(z.number().nullable()).meta({
      description: 'Share (0–1) of the cohort active in period 1, 2, … after it; null where there is no answer: a period not begun yet, one older than the per-user daily rollups (kept retentionDays), or a cohort of no users. The period in progress counts the activity so far.',
    }),
    returningUsers: z.array(z.number().int().nullable()).meta({ description: 'The same as user counts' }),
  })
  .meta({ id: 'Cohort' });
export type Cohort = z.infer<typeof Cohort>;

export const Retention = z
  .object({ cohort: z.enum(COHORT_GRAINS), periods: z.number().int(), cohorts: z.array(Cohort) })
  .meta({ id: 'Retention' });
export type Retention = z.infer<typeof Retention>;
