import { z } from 'zod';
import { Workspace } from './workspaces';

export const SessionInput = z
  .object({ key: z.string().min(1).max(200).meta({ description: 'A read key (rk_…), an admin key (sk_…), or the root token' }) })
  .meta({ id: 'SessionInput' });

export const Session = z
  .object({
    kind: z.enum(['root', 'read', 'admin']),
    /** The key's workspace; null for the root token, which may open any workspace. */
    workspace: Workspace.nullable(),
  })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof Session>;

export const SessionBody = z.object({ session: Session });
export type SessionBody = z.infer<typeof SessionBody>;
