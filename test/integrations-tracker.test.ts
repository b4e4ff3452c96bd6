import { describe, expect, it } from 'vitest';
import { TRACKER_SOURCE } from '../src/client/tracker';
import { LIMITS } from '../src/shared/limits';
import { call } from './helpers';

describe('GET /t.js', () => {
  it('serves the tracker as JavaScript with cache headers, within 1 KB gzipped', async () => {
    const res = await call('GET', '/t.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    // workerd's CompressionStream is zlib's gzip at its default level (the e2e test also measures with node:zlib).
    const stream = new Blob([res.text]).stream().pipeThrough(new CompressionStream('gzip'));
    const gzipped = (await new Response(stream).arrayBuffer()).byteLength;
    console.log(`tracker: ${res.text.length} bytes served, ${gzipped} bytes gzipped (budget ${LIMITS.trackerMaxGzipBytes})`);
    expect(gzipped).toBeLessThanOrEqual(LIMITS.trackerMaxGzipBytes);
    expect(res.text).toContain('/api/v1/collect?key=');
    expect(res.text).toContain('retry-after');
    expect(res.text).toContain('keepalive');
  });

  it('is squeezed safely: no string literal in the source holds whitespace', () => {
    const literals = TRACKER_SOURCE.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n').match(/'[^'\n]*'/g) ?? [];
    expect(literals.length).toBeGreaterThan(10);
    for (const lit of literals) expect(lit).not.toMatch(/\s/);
  });
});
