import preact from '@preact/preset-vite';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { assetsHeadersFile } from '../src/security-headers';

/** Swagger UI's files that /api/docs loads (src/routes/docs.ts), copied from swagger-ui-dist: nothing from a CDN. */
const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui.css', 'LICENSE', 'NOTICE'];

/** Adds to the build what the Worker's static assets need beside the dashboard: `_headers` and Swagger UI. */
function staticAssets(): Plugin {
  const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return {
    name: 'edgepulse-static-assets',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: assetsHeadersFile() });
      for (const file of SWAGGER_UI_FILES) {
        this.emitFile({ type: 'asset', fileName: `assets/api-docs/${file}`, source: readFileSync(join(swaggerDir, file)) });
      }
    },
  };
}

// Built into dashboard/dist, which wrangler serves as static assets (SPA fallback in wrangler.toml).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [preact(), staticAssets()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `vite dev` against a running `npm start`.
    proxy: { '/api': { target: process.env.EDGEPULSE_URL ?? 'http://localhost:8787', ws: true } },
  },
});
