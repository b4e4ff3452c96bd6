import { z } from 'zod';
import { LIMITS } from './limits';

/** Share links (API.md, "Share links"): a read-only, aggregates-only view of a workspace. */

/** The token in a share URL (`<origin>/s/<token>`); also the bearer credential of a share session. */
export const SHARE_TOKEN_PREFIX = 'sh_';
export const SHARE_TOKEN_RE = /^sh_[A-Za-z0-9]{16,64}$/;

export const Share = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    expiresAt: z.string().nullable().meta({ description: 'ISO time the link stops working; null: until deleted' }),
    createdAt: z.string(),
  })
  .meta({ id: 'Share' });
export type Share = z.infer<typeof Share>;

export const CreateShareInput = z
  .object({
    name: z.string().min(1).max(LIMITS.shareNameMaxLength).optional(),
    expiresAt: z.union([z.string(), z.number()]).optional().meta({ description: 'ISO 8601 or epoch ms, in the future', type: 'string' }),
  })
  .strict();
export type CreateShareInput = z.infer<typeof CreateShareInput>;

export const ShareCreated = z
  .object({ share: Share, url: z.string().meta({ description: '`<origin>/s/<token>`: the token is shown this once' }) })
  .meta({ id: 'ShareCreated' });
export type ShareCreated = z.infer<typeof ShareCreated>;

export const ShareList = z.object({ shares: z.array(Share) }).meta({ id: 'ShareList' });
export type ShareList = z.infer<typeof ShareList>;

/** What a share session learns about the workspace it views (`GET /api/v1/share`). */
export const ShareInfo = z
  .object({
    workspace: z.object({ slug: z.string(), name: z.string(), timezone: z.string() }),
    share: Share.pick({ id: true, name: true, expiresAt: true }),
  })
  .meta({ id: 'ShareInfo' });
export type ShareInfo = z.infer<typeof ShareInfo>;
