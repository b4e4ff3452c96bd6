import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/shared/limits';

// A page pays for edgepulse/live on every load: the built, minified file as pages import it.
const LIVE = new URL('../../dist/client/live.js', import.meta.url);

describe('edgepulse/live bundle budget', () => {
  it(`is at most ${LIMITS.liveClientMaxGzipBytes / 1024} KB gzipped, minified, with nothing but its own code`, () => {
    expect(existsSync(LIVE), 'run `npm run build` first').toBe(true);
    const bytes = readFileSync(LIVE);
    const gz = gzipSync(bytes, { level: 9 }).length;
    console.log(`dist/client/live.js: ${(bytes.length / 1024).toFixed(1)} KB minified, ${(gz / 1024).toFixed(2)} KB gzipped (${gz} bytes) of ${LIMITS.liveClientMaxGzipBytes / 1024} KB`);
    expect(gz).toBeLessThanOrEqual(LIMITS.liveClientMaxGzipBytes);
    // Types only from src/shared: zod (and any other import) stays out of the page.
    const text = bytes.toString('utf8');
    expect(text).not.toMatch(/\bimport\s*[{*\w]|from\s*["']/);
    expect(text).not.toContain('ZodError');
  });
});
