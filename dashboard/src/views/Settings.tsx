import { useEffect, useState } from 'preact/hooks';
import { api, get, wsPath } from '../api';
import type { Workspace } from '../api-types';
import { Code, ErrorNote, Loading, Panel } from '../components/Ui';
import { type Route } from '../router';
import { isAdmin } from '../session';
import { LIMITS } from '../../../src/shared/limits';
import { Alerts } from './Alerts';
import { Keys } from './Keys';
import { Schedules } from './Schedules';
import { ShareLinks } from './Shares';
import { Snippets } from './Snippets';

const randomBase64 = (n: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n))));
const timeZones = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

function WorkspaceForm({ w, save }: { w: Workspace; save: (patch: Record<string, unknown>) => Promise<void> }) {
  const [name, setName] = useState(w.name);
  const [tz, setTz] = useState(w.timezone);
  const [retention, setRetention] = useState(String(w.retentionDays));
  const [origins, setOrigins] = useState(w.allowedOrigins.join('\n'));
  const [eps, setEps] = useState(String(w.rateLimit.eventsPerSecond));
  const [props, setProps] = useState<string[]>(w.rollupProperties);
  const cleanProps = () => props.map((p) => p.trim()).filter(Boolean);
  // Sent only when changed: an unchanged list keeps every property's rollups as they are.
  const rollupProperties = () => (cleanProps().join('\n') !== w.rollupProperties.join('\n') ? { rollupProperties: cleanProps() } : {});
  // Sent only when changed, so that a workspace on the default stays on it; empty goes back to the default.
  const rateLimit = () => (eps.trim() === '' ? { rateLimit: null } : Number(eps) !== w.rateLimit.eventsPerSecond ? { rateLimit: { eventsPerSecond: Number(eps) } } : {});
  return (
    <form
      class="grid"
      style={{ gap: '10px' }}
      onSubmit={(e) => {
        e.preventDefault();
        void save({ name, timezone: tz, retentionDays: Number(retention), allowedOrigins: origins.split(/\s+/).filter(Boolean), ...rateLimit(), ...rollupProperties() });
      }}
    >
      <div class="field">
        <label for="ws-name">Name</label>
        <input id="ws-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </div>
      <div class="row">
        <div class="field" style={{ flex: 2 }}>
          <label for="ws-tz">Time zone (“today” and day buckets)</label>
          <input id="ws-tz" list="tz-list" value={tz} onInput={(e) => setTz(e.currentTarget.value)} required />
          <datalist id="tz-list">
            {timeZones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
        <div class="field" style={{ flex: 1 }}>
          <label for="ws-retention">Retention (days)</label>
          <input id="ws-retention" type="number" min={1} max={3650} value={retention} onInput={(e) => setRetention(e.currentTarget.value)} required />
        </div>
      </div>
      <div class="field">
        <label for="ws-rate">Rate limit (events a second, bursts of {w.rateLimit.burstSeconds} s’ worth; empty: the default, {LIMITS.defaultEventsPerSecond})</label>
        <input id="ws-rate" type="number" min={1} max={LIMITS.eventsPerSecondMax} step={1} value={eps} placeholder={String(LIMITS.defaultEventsPerSecond)} onInput={(e) => setEps(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ws-origins">Allowed origins for the browser tracker (one a line; empty allows any)</label>
        <textarea id="ws-origins" rows={3} value={origins} placeholder="https://example.com" onInput={(e) => setOrigins(e.currentTarget.value)} />
      </div>
      <fieldset class="field" id="ws-rollup-properties" style={{ border: 'none', padding: 0, margin: 0 }}>
        <legend class="label">Rollup properties (up to {LIMITS.rollupPropertiesMax}): breakdowns and filters on them read rollups, from the next hour on</legend>
        {props.map((p, i) => (
          <div class="row" key={i}>
            <input
              aria-label={`Rollup property ${i + 1}`}
              value={p}
              maxLength={LIMITS.propertyNameMaxLength}
              placeholder="plan"
              onInput={(e) => setProps(props.map((x, j) => (j === i ? e.currentTarget.value : x)))}
            />
            <button class="btn" type="button" onClick={() => setProps(props.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        {props.length < LIMITS.rollupPropertiesMax && (
          <div>
            <button class="btn" type="button" onClick={() => setProps([...props, ''])}>
              Add property
            </button>
          </div>
        )}
      </fieldset>
      <div>
        <button class="btn primary" type="submit">
          Save
        </button>
      </div>
    </form>
  );
}

function Integrations({ w, save }: { w: Workspace; save: (patch: Record<string, unknown>) => Promise<void> }) {
  const [lkKey, setLkKey] = useState('');
  const [lkSecret, setLkSecret] = useState('');
  const [whsec, setWhsec] = useState<string | null>(null);
  return (
    <div class="grid" style={{ gap: '16px' }}>
      <form
        class="grid"
        style={{ gap: '8px' }}
        onSubmit={(e) => {
          e.preventDefault();
          void save({ livekit: { apiKey: lkKey.trim(), apiSecret: lkSecret.trim() } }).then(() => (setLkKey(''), setLkSecret('')));
        }}
      >
        <h3>LiveKit credentials {w.livekitConfigured ? <span class="pill">configured</span> : <span class="pill">not set</span>}</h3>
        <div class="row">
          <input aria-label="LiveKit API key" placeholder="API key (APIxxxx)" value={lkKey} onInput={(e) => setLkKey(e.currentTarget.value)} required style={{ flex: 1 }} />
          <input aria-label="LiveKit API secret" type="password" placeholder="API secret" value={lkSecret} onInput={(e) => setLkSecret(e.currentTarget.value)} required style={{ flex: 1 }} />
          <button class="btn" type="submit">
            {w.livekitConfigured ? 'Replace' : 'Save'}
          </button>
          {w.livekitConfigured && (
            <button class="btn danger" type="button" onClick={() => void save({ livekit: null })}>
              Remove
            </button>
          )}
        </div>
      </form>
      <div class="grid" style={{ gap: '8px' }}>
        <h3>Standard Webhooks secret {w.webhookSecretConfigured ? <span class="pill">configured</span> : <span class="pill">not set</span>}</h3>
        {whsec && (
          <>
            <p class="ok-text" style={{ margin: 0 }}>Give this secret to the sender now; it is not shown again.</p>
            <Code text={whsec} label="webhook secret" />
          </>
        )}
        <div class="row">
          <button
            class="btn"
            type="button"
            onClick={() => {
              const s = `whsec_${randomBase64(24)}`;
              void save({ webhookSecret: s }).then(() => setWhsec(s));
            }}
          >
            {w.webhookSecretConfigured ? 'Rotate secret' : 'Generate secret'}
          </button>
          {w.webhookSecretConfigured && (
            <button class="btn danger" type="button" onClick={() => void save({ webhookSecret: null }).then(() => setWhsec(null))}>
              Remove
            </button>
          )}
        </div>
      </div>
    </div>
  );
}

export default function Settings({ route }: { route: Route }) {
  const ws = (route as { ws: string }).ws;
  const [w, setW] = useState<Workspace | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get<{ workspace: Workspace }>(wsPath(ws)).then((r) => setW(r.workspace), setError);
  }, [ws]);
  if (!isAdmin()) {
    return (
      <div class="empty">
        <h2>Settings need an admin key</h2>
        <p>You are signed in with a read key. Sign out and sign in with the workspace’s admin key (sk_…).</p>
      </div>
    );
  }
  const save = async (patch: Record<string, unknown>) => {
    setError(null);
    setSaved(false);
    try {
      setW((await api<{ workspace: Workspace }>('PATCH', wsPath(ws), patch)).workspace);
      setSaved(true);
      setTimeout(() => setSaved(false), 2000);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <div class="page-head">
        <h1>Settings</h1>
        {saved && <span class="ok-text" role="status">Saved</span>}
      </div>
      <ErrorNote error={error} />
      <div class="grid cols-2">
        <Keys ws={ws} />
        <ShareLinks ws={ws} />
        <Panel title="Workspace">{w ? <WorkspaceForm key={w.createdAt} w={w} save={save} /> : <Loading />}</Panel>
        <Panel title="Integrations">{w ? <Integrations w={w} save={save} /> : <Loading />}</Panel>
        <Alerts ws={ws} />
        <Schedules ws={ws} timezone={w?.timezone} />
        <Panel title="Send data" hint="copy and paste" class="span-2">
          <Snippets ws={ws} />
        </Panel>
      </div>
    </>
  );
}
