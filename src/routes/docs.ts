import { DOCS_SCRIPT } from './docs-page';

const STYLE = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1d2330; --mute: #667085; --line: #e4e7ec; --card: #f8f9fb; --accent: #2563eb; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --fg: #e6e8ec; --mute: #98a2b3; --line: #262b36; --card: #161a21; --accent: #60a5fa; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, Segoe UI, sans-serif; background: var(--bg); color: var(--fg); display: grid; grid-template-columns: 220px 1fr; min-height: 100vh; }
aside { border-right: 1px solid var(--line); padding: 16px; position: sticky; top: 0; height: 100vh; overflow: auto; }
aside a { display: block; color: var(--fg); text-decoration: none; padding: 4px 0; }
aside a:hover { color: var(--accent); }
aside label { display: block; margin: 16px 0 4px; color: var(--mute); font-size: 12px; }
aside input { width: 100%; }
main { padding: 16px 32px 64px; max-width: 1100px; }
h1 { margin: 0 0 4px; font-size: 22px; } h2 { margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { margin: 0; font-size: 15px; display: flex; gap: 8px; align-items: center; } h4 { margin: 12px 0 4px; font-size: 13px; color: var(--mute); }
.op { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.m { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; background: #64748b; }
.m.get { background: #2563eb; } .m.post { background: #16a34a; } .m.patch { background: #ca8a04; } .m.delete { background: #dc2626; } .m.put { background: #9333ea; }
.sum { margin: 6px 0 0; font-weight: 500; } .desc { margin: 4px 0 0; color: var(--mute); } .lock { font-size: 12px; }
code, pre, input, textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; margin: 4px 0; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; } th { color: var(--mute); font-weight: 500; }
.req { color: #dc2626; font-size: 11px; } .mt { color: var(--mute); font-size: 12px; }
.resp summary, .try summary { cursor: pointer; } div.resp { padding: 2px 0; }
.st { font: 600 12px ui-monospace, monospace; } .s2 { color: #16a34a; } .s4 { color: #ca8a04; } .s5 { color: #dc2626; }
.try { margin-top: 10px; border-top: 1px dashed var(--line); padding-top: 8px; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px; margin: 8px 0; }
label span { display: block; color: var(--mute); font-size: 12px; }
input, textarea { width: 100%; padding: 6px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { margin: 8px 0; padding: 6px 14px; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
.out:empty { display: none; } .out.ok { border-color: #16a34a; } .out.bad, .bad { border-color: #dc2626; color: #dc2626; }
@media (max-width: 800px) { body { grid-template-columns: 1fr; } aside { position: static; height: auto; } }
`;

/** The interactive reference: a self-contained page (no external resources) that renders the OpenAPI document. */
export function docsPage(specUrl: string): string {
  const attr = specUrl.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edgepulse API reference</title><style>${STYLE}</style></head>
<body data-spec="${attr}">
<aside>
  <strong>edgepulse API</strong>
  <label for="token">Bearer token (root token or a pk_/rk_/sk_ key)</label>
  <input id="token" type="password" autocomplete="off" placeholder="paste a key to try requests">
  <label>Sections</label>
  <nav id="nav"></nav>
  <label>Document</label>
  <a href="${attr}">${attr}</a>
</aside>
<main>
  <h1 id="title">API reference</h1>
  <p id="intro"></p>
  <div id="ops"></div>
</main>
<script>${DOCS_SCRIPT}</script>
</body></html>`;
}
