import { z } from 'zod';

/** API.md "The archive": erasing one user's raw events. */

export const Erasure = z
  .object({
    id: z.string().meta({ description: 'The erasure’s id (GET …/erasures/{id})' }),
    userId: z.string().meta({ description: 'The user whose raw events are erased' }),
    status: z.enum(['pending', 'done']).meta({ description: '`pending` while the job runs (continued by the cron), `done` once none of the user’s raw events is readable' }),
    eventsErased: z.number().int().meta({ description: 'Raw events removed so far: rows taken out of archive files, and acknowledged events taken out of the hub before they were archived' }),
    requestedAt: z.string().meta({ description: 'When the erasure was asked for (ISO, UTC)' }),
    doneAt: z.string().nullable().meta({ description: 'When it finished (ISO, UTC); null while pending' }),
  })
  .meta({ id: 'Erasure' });
export type Erasure = z.infer<typeof Erasure>;

export const ErasureAnswer = z.object({ erasure: Erasure }).meta({ id: 'ErasureAnswer' });
