import { z } from 'zod';

/** "Operations": where the one-time move of D1 raw events to the archive stands. */
export const MigrationProgress = z
  .object({
    migrated: z.number().int().meta({ description: 'Raw events moved from D1 to the archive so far (rows of deleted workspaces and of erased users count as done, not archived)' }),
    remaining: z.number().int().meta({ description: 'Raw events still in the D1 table' }),
    done: z.boolean().meta({ description: 'True once every row is in the archive and the D1 events table is dropped' }),
  })
  .meta({ id: 'MigrationProgress' });
export type MigrationProgress = z.infer<typeof MigrationProgress>;
