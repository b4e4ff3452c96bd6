import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { unstable_readConfig } from 'wrangler';

const CONFIG = new URL('../../wrangler.toml', import.meta.url).pathname;

/**
 * Copies every object of the local `ARCHIVE` bucket that `wrangler dev --persist-to <persistDir>` kept
 * into `outDir`, under its key: the files a user would copy out of R2 to query with DuckDB.
 * Miniflare opens the same on-disk state wrangler dev wrote (its documented persistence API).
 */
export async function copyLocalArchive(persistDir: string, outDir: string): Promise<number> {
  const config = unstable_readConfig({ config: CONFIG }, { hideWarnings: true });
  const bucketName = config.r2_buckets.find((b) => b.binding === 'ARCHIVE')?.bucket_name;
  if (!bucketName) throw new Error('wrangler.toml binds no ARCHIVE bucket');
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch: () => new Response(null) }',
    r2Buckets: { ARCHIVE: bucketName },
    r2Persist: join(persistDir, 'v3', 'r2'),
  });
  try {
    const bucket = await mf.getR2Bucket('ARCHIVE');
    let copied = 0;
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ cursor });
      for (const { key } of page.objects) {
        const object = await bucket.get(key);
        if (!object) continue;
        const path = join(outDir, key);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, new Uint8Array(await object.arrayBuffer()));
        copied++;
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return copied;
  } finally {
    await mf.dispose();
  }
}
