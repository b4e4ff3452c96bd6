// Until the dashboard is built, give wrangler's static assets a page that says how to build it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const dir = new URL('../dashboard/dist/', import.meta.url);
if (!existsSync(new URL('index.html', dir))) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('index.html', dir), '<!doctype html><title>edgepulse</title><p>The dashboard is not built yet: run <code>npm run build</code>.</p>\n');
}
