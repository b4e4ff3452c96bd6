// Builds the shipped clients into dist/client: edgepulse/client and edgepulse/hono (ES modules for
// servers, hono stays the app's own) and edgepulse/live (minified for pages), plus their declarations.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const outdir = `${root}dist`;
rmSync(outdir, { recursive: true, force: true });

const common = { bundle: true, format: 'esm', target: 'es2020', outdir: `${outdir}/client`, logLevel: 'warning', legalComments: 'none' };
await build({
  ...common,
  entryPoints: [`${root}src/client/index.ts`, `${root}src/client/hono.ts`],
  platform: 'neutral',
  external: ['hono', 'hono/*'],
  splitting: true, // hono.js imports the same EdgePulse class as index.js
  chunkNames: '[name]-[hash]',
});
await build({ ...common, entryPoints: [`${root}src/client/live.ts`], platform: 'browser', minify: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const types = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.client.json`], { stdio: 'inherit' });
if (types.status !== 0) process.exit(types.status ?? 1);
console.log('built dist/client/{index,hono,live}.js and their .d.ts');
