import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ConnectionState } from '../live';
import { isShared } from '../share';

export function Card({ label, value, foot, bad, testid }: { label: string; value: string; foot?: string; bad?: boolean; testid?: string }) {
  return (
    <div class="panel card" data-testid={testid}>
      <span class="label">{label}</span>
      <span class={`value${bad ? ' bad' : ''}`} key={value}>
        {value}
      </span>
      {foot && <span class="foot">{foot}</span>}
    </div>
  );
}

export function Panel({ title, hint, children, class: cls = '', testid }: { title: string; hint?: ComponentChildren; children: ComponentChildren; class?: string; testid?: string }) {
  return (
    <section class={`panel ${cls}`} aria-label={title} data-testid={testid}>
      <header>
        <h2>{title}</h2>
        {hint && <span class="hint">{hint}</span>}
      </header>
      {children}
    </section>
  );
}

const STATE_LABEL: Record<ConnectionState, string> = {
  connecting: 'connecting',
  live: 'live',
  polling: 'live (polling)',
  reconnecting: 'reconnecting',
  offline: 'offline',
};

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  return (
    <span class="conn" data-state={state} data-testid="connection" role="status" aria-live="polite">
      {STATE_LABEL[state]}
    </span>
  );
}

export function Code({ text, label }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="code-wrap">
      <pre class="code" aria-label={label}>
        <code>{text}</code>
      </pre>
      <button
        type="button"
        class="btn small"
        onClick={() => {
          void navigator.clipboard?.writeText(text).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          });
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export const curlFirstEvent = (ws: string, key = 'pk_…') => `curl -X POST ${location.origin}/api/v1/workspaces/${ws}/events \\
  -H 'Authorization: Bearer ${key}' \\
  -H 'Content-Type: application/json' \\
  -d '{"type":"hello","userId":"u_1","properties":{"from":"curl"}}'`;

/** What a new workspace shows instead of blank charts: how to send the first event. */
export function FirstEvent({ ws }: { ws: string }) {
  if (isShared()) {
    // A share link's viewer has no key to send with: no instructions, just the state.
    return (
      <div class="empty" data-testid="empty-state">
        <h2>No events yet</h2>
        <p>This page updates the moment the first one arrives.</p>
      </div>
    );
  }
  return (
    <div class="empty" data-testid="empty-state">
      <h2>No events yet — send your first one</h2>
      <p>
        Use the workspace’s ingest key (<code>pk_…</code>, shown when the workspace was created, or make one in{' '}
        <a href={`/w/${encodeURIComponent(ws)}/settings`}>Settings</a>). This page updates the moment it arrives.
      </p>
      <Code text={curlFirstEvent(ws)} label="curl command to send a first event" />
    </div>
  );
}

export function Loading() {
  return <div class="skeleton" aria-busy="true" aria-label="Loading" />;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return <p class="error-text" role="alert">{error instanceof Error ? error.message : String(error)}</p>;
}
