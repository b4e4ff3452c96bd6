import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into dashboard/dist, which wrangler serves as static assets (SPA fallback in wrangler.toml).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [preact()],
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
