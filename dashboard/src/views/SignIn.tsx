import { useState } from 'preact/hooks';
import { ApiFailure } from '../api';
import { Logo } from '../components/Layout';
import { signIn } from '../session';

export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim());
    } catch (err) {
      setError(err instanceof ApiFailure ? err.message : 'Could not reach the server');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="center">
      <form class="panel signin" onSubmit={submit} aria-labelledby="signin-title">
        <span class="brand" id="signin-title">
          <Logo /> edgepulse
        </span>
        <p class="muted" style={{ margin: 0 }}>
          Sign in with a workspace’s <strong>read key</strong> (<code>rk_…</code>) or <strong>admin key</strong> (<code>sk_…</code>). The root
          token opens every workspace.
        </p>
        <div class="field">
          <label for="key">Key</label>
          <input id="key" name="key" type="password" autoComplete="current-password" placeholder="rk_… or sk_…" value={key} onInput={(e) => setKey(e.currentTarget.value)} required autoFocus />
        </div>
        {error && (
          <p class="error-text" role="alert">
            {error}
          </p>
        )}
        <button class="btn primary" type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted" style={{ margin: 0, fontSize: '12px' }}>
          Running locally? <code>npm start</code> prints the demo workspace’s keys. The session is an HttpOnly cookie; the key is not kept in the browser.
        </p>
      </form>
    </div>
  );
}
