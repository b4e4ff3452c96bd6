import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

// The dashboard's first paint must stay light: the JavaScript index.html loads before any view runs.
const DIST = new URL('../../dashboard/dist/', import.meta.url);
const BUDGET_GZIP_BYTES = 60 * 1024;

/** Scripts and module preloads that index.html fetches up front (lazy views and uPlot are not among them). */
function initialScripts(html: string): string[] {
  const srcs = [...html.matchAll(/<script[^>]+type="module"[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
  const preloads = [...html.matchAll(/<link[^>]+rel="modulepreload"[^>]*\shref="([^"]+)"/g)].map((m) => m[1]);
  return [...new Set([...srcs, ...preloads])];
}

describe('dashboard bundle budget', () => {
  it('loads at most 60 KB of gzipped JavaScript initially', () => {
    expect(existsSync(new URL('index.html', DIST)), 'run `npm run build` first').toBe(true);
    const html = readFileSync(new URL('index.html', DIST), 'utf8');
    const scripts = initialScripts(html);
    expect(scripts.length).toBeGreaterThan(0);
    let total = 0;
    for (const src of scripts) {
      const bytes = readFileSync(new URL(src.replace(/^\//, ''), DIST));
      const gz = gzipSync(bytes, { level: 9 }).length;
      total += gz;
      console.log(`${src}: ${(bytes.length / 1024).toFixed(1)} KB raw, ${(gz / 1024).toFixed(1)} KB gzipped`);
    }
    console.log(`initial JavaScript: ${(total / 1024).toFixed(1)} KB gzipped of ${BUDGET_GZIP_BYTES / 1024} KB`);
    expect(total).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    // uPlot is loaded with the first chart, not up front.
    expect(scripts.some((s) => /uPlot/i.test(s))).toBe(false);
  });
});
