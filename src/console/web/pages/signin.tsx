/** Sign-in, and the one-time setup of the first user (the link berthd printed). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { consoleCall, setSession } from '../api.js';
import { Notice } from '../ui.js';

function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  // Only a path of this console: never an absolute or protocol-relative URL.
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignInPage(p: { setup: boolean }): JSX.Element {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const token = new URLSearchParams(location.search).get('token') ?? '';

  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const user = String(f.get('user') ?? '');
    const password = String(f.get('password') ?? '');
    if (p.setup && password !== String(f.get('confirm') ?? '')) return setError('The two passwords differ.');
    setBusy(true);
    setError(undefined);
    try {
      const s = p.setup
        ? await consoleCall<{ user: string; csrf: string }>('POST', '/console/setup', { token, user, password })
        : await consoleCall<{ user: string; csrf: string }>('POST', '/console/login', { user, password });
      setSession(s);
      location.assign(p.setup ? '/' : nextPath());
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="brand big">
          <img src="/assets/favicon.svg" alt="" width="34" height="34" />
          <span>Berth</span>
        </div>
        <h1>{p.setup ? 'Create the first user' : 'Sign in'}</h1>
        <p class="sub">
          {p.setup ? 'This link works once. Choose the name and password you will sign in with.' : 'Sign in to manage the containers on this host.'}
        </p>
        {error && <Notice kind="error">{error}</Notice>}
        <label>
          User name
          <input name="user" autocomplete="username" required autofocus maxLength={64} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete={p.setup ? 'new-password' : 'current-password'} required minLength={p.setup ? 8 : 1} />
        </label>
        {p.setup && (
          <label>
            Repeat the password
            <input name="confirm" type="password" autocomplete="new-password" required minLength={8} />
          </label>
        )}
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? 'Please wait…' : p.setup ? 'Create user and sign in' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
