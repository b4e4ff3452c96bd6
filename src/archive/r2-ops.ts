import type { ArchiveBucket } from './store';

/** R2 operations a cron job made (list and put are class A, get class B; delete is free). */
export interface R2Ops {
  list: number;
  get: number;
  put: number;
  delete: number;
}

export const noOps = (): R2Ops => ({ list: 0, get: 0, put: 0, delete: 0 });

/** The bucket, counting each call into `ops` (a delete of many keys is one call). */
export function countingBucket(bucket: ArchiveBucket, ops: R2Ops): ArchiveBucket {
  return {
    get: ((key: string, options?: R2GetOptions) => (ops.get++, bucket.get(key, options))) as ArchiveBucket['get'],
    head: (key) => (ops.get++, bucket.head(key)),
    put: ((...args: Parameters<R2Bucket['put']>) => (ops.put++, bucket.put(...args))) as ArchiveBucket['put'],
    list: (options) => (ops.list++, bucket.list(options)),
    delete: (keys) => (ops.delete++, bucket.delete(keys)),
  };
}

/** R2 deletes at most this many keys a call. */
export const R2_DELETE_KEYS_MAX = 1000;

/** Deletes keys in calls of at most R2_DELETE_KEYS_MAX. */
export async function deleteKeys(bucket: Pick<R2Bucket, 'delete'>, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += R2_DELETE_KEYS_MAX) await bucket.delete(keys.slice(i, i + R2_DELETE_KEYS_MAX));
}

/**
 * Deletes every object under `prefix`, a page (≤1000 keys) at a time, until none is left or the
 * deadline passed; true when none is left.
 */
export async function deletePrefix(bucket: Pick<R2Bucket, 'list' | 'delete'>, prefix: string, deadline: number): Promise<{ deleted: number; complete: boolean }> {
  let deleted = 0;
  for (;;) {
    if (Date.now() > deadline) return { deleted, complete: false };
    const page = await bucket.list({ prefix, limit: R2_DELETE_KEYS_MAX });
    if (!page.objects.length) return { deleted, complete: true };
    await deleteKeys(bucket, page.objects.map((o) => o.key));
    deleted += page.objects.length;
  }
}
