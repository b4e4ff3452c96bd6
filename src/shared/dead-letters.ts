import { z } from 'zod';

/** "Operations" of API.md: batches that could not be written to history, set aside by the hub's drain. */

export const DeadLetter = z
  .object({
    id: z.string().meta({ description: 'Names the batch (retry or drop it with this id)' }),
    events: z.number().int().meta({ description: 'Events in the batch' }),
    error: z.string().meta({ description: 'The error D1 gave for the batch, most recent first' }),
    firstFailedAt: z.string().meta({ description: 'When a drain holding the batch first failed (ISO, UTC)' }),
    lastFailedAt: z.string().meta({ description: 'When it last failed: set aside, or a retry that failed (ISO, UTC)' }),
    attempts: z.number().int().meta({ description: 'Failed writes of the batch (drains and retries)' }),
    sample: z
      .array(z.object({ id: z.string(), type: z.string() }))
      .optional()
      .meta({ description: 'Ids and types of the first few events of the batch' }),
  })
  .meta({ id: 'DeadLetter' });
export type DeadLetter = z.infer<typeof DeadLetter>;

export const DeadLetterList = z
  .object({
    deadLetters: z.array(DeadLetter),
    total: z.number().int().meta({ description: 'Dead letters the workspace holds (the list shows the oldest ones)' }),
  })
  .meta({ id: 'DeadLetterList' });
export type DeadLetterList = z.infer<typeof DeadLetterList>;

export const DeadLetterRetry = z
  .object({
    retried: z.literal(true),
    result: z.enum(['drained', 'failed']).meta({
      description: '`drained`: the events are in history (exactly once) and the dead letter is gone; `failed`: D1 refused the batch again, it stays',
    }),
    error: z.string().optional().meta({ description: 'D1’s error when the retry failed' }),
  })
  .meta({ id: 'DeadLetterRetry' });
export type DeadLetterRetry = z.infer<typeof DeadLetterRetry>;
