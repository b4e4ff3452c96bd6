/** Where the dashboard build puts Swagger UI (swagger-ui-dist) and its start script: see dashboard/vite.config.ts. */
const DOCS_ASSETS = '/assets/api-docs';

/**
 * /api/docs: Swagger UI from this Worker's static assets (no CDN, no inline script under the CSP),
 * rendering the OpenAPI document named in data-spec.
 */
export function docsPage(specUrl: string): string {
  const attr = specUrl.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edgepulse API reference</title>
<link rel="icon" href="/favicon.svg">
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
<link rel="stylesheet" href="${DOCS_ASSETS}/api-docs.css">
</head>
<body>
<div id="swagger-ui" data-spec="${attr}"></div>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="${DOCS_ASSETS}/api-docs.js"></script>
</body></html>`;
}
