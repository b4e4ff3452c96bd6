import { useState } from 'preact/hooks';
import { Code, curlFirstEvent } from '../components/Ui';

const TABS = ['Browser tracker', 'Server (HTTP)', 'Server SDK', 'LiveKit webhook', 'Segment', 'curl'] as const;
type Tab = (typeof TABS)[number];

function snippet(tab: Tab, ws: string, origin: string): string {
  switch (tab) {
    case 'Browser tracker':
      return `<!-- page views (including single-page-app navigation), presence in a room, custom events -->
<script defer src="${origin}/t.js" data-workspace="${ws}" data-key="pk_…"></script>
<script>
  // once the script has loaded:
  edgepulse.identify('u_42');
  edgepulse.track('signup.completed', { plan: 'pro' });
</script>`;
    case 'Server (HTTP)':
      return `await fetch('${origin}/api/v1/workspaces/${ws}/events', {
  method: 'POST',
  headers: { authorization: 'Bearer pk_…', 'content-type': 'application/json' },
  body: JSON.stringify({ events: [
    { id: crypto.randomUUID(), type: 'api.request', userId: 'u_42', durationMs: 182.5,
      bytesIn: 512, bytesOut: 20480, properties: { route: '/v1/chat' } },
  ] }),
});`;
    case 'Server SDK':
      return `// npm install edgepulse — batches in memory, retries with backoff, never counts an event twice
import { EdgePulse } from 'edgepulse/client';

const pulse = new EdgePulse({ host: '${origin}', workspace: '${ws}', key: process.env.EDGEPULSE_KEY }); // pk_…
pulse.track({ type: 'message.sent', userId: 'u_42', room: 'standup', properties: { model: 'gpt-4o' } });
await pulse.flush();`;
    case 'LiveKit webhook':
      return `# LiveKit Cloud → Settings → Webhooks, or livekit.yaml:
webhook:
  api_key: <your LiveKit API key, also saved under Integrations here>
  urls:
    - ${origin}/api/v1/workspaces/${ws}/webhooks/livekit`;
    case 'Segment':
      return `// Any Segment library works unchanged: the ingest key is the write key.
import { Analytics } from '@segment/analytics-node';

const analytics = new Analytics({ writeKey: 'pk_…', host: '${origin}' });
analytics.track({ userId: 'u_42', event: 'Order Completed', properties: { revenue: 42 } });`;
    case 'curl':
      return curlFirstEvent(ws);
  }
}

export function Snippets({ ws }: { ws: string }) {
  const [tab, setTab] = useState<Tab>('Browser tracker');
  return (
    <>
      <div class="tabs" role="group" aria-label="Snippet" style={{ marginBottom: '10px' }}>
        {TABS.map((t) => (
          <button type="button" key={t} aria-pressed={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      <Code text={snippet(tab, ws, location.origin)} label={`${tab} snippet`} />
      <p class="muted" style={{ fontSize: '12px', marginBottom: 0 }}>
        Replace <code>pk_…</code> with an ingest key from the list above. Ingest keys may only send events, so they are safe in a web page.
      </p>
    </>
  );
}
