/**
 * The console's small shared pieces: page header, state badge, buttons,
 * notices, an empty/loading state, and the hooks pages use to load and poll.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { navigate } from './router.js';

export function PageHeader(p: { title: ComponentChildren; sub?: ComponentChildren; actions?: ComponentChildren }): JSX.Element {
  return (
    <header class="page-header">
      <div>
        <h1>{p.title}</h1>
        {p.sub && <p class="sub">{p.sub}</p>}
      </div>
      {p.actions && <div class="actions">{p.actions}</div>}
    </header>
  );
}

const STATE_CLASS: Record<string, string> = {
  running: 'ok',
  healthy: 'ok',
  created: 'idle',
  exited: 'off',
  dead: 'bad',
  unhealthy: 'bad',
  paused: 'warn',
  restarting: 'warn',
  removing: 'warn',
};

export function Badge(p: { state: string }): JSX.Element {
  return <span class={`badge ${STATE_CLASS[p.state] ?? 'idle'}`}>{p.state}</span>;
}

export function Link(p: { href: string; children: ComponentChildren; class?: string }): JSX.Element {
  return (
    <a
      href={p.href}
      class={p.class}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(p.href);
      }}
    >
      {p.children}
    </a>
  );
}

export function Notice(p: { kind?: 'error' | 'info' | 'ok'; children: ComponentChildren; onClose?: () => void }): JSX.Element {
  return (
    <div class={`notice ${p.kind ?? 'info'}`} role={p.kind === 'error' ? 'alert' : 'status'}>
      <span>{p.children}</span>
      {p.onClose && (
        <button type="button" class="link" onClick={p.onClose} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Empty(p: { children: ComponentChildren }): JSX.Element {
  return <div class="empty">{p.children}</div>;
}

/** Load something; `reload` runs it again, `every` polls (ms). Keeps the last value while reloading: no layout jumps. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], every?: number): { value?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ value?: T; error?: string }>({});
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    load().then(
      (value) => n === seq.current && setState({ value }),
      (err: Error) => n === seq.current && setState((s) => ({ value: s.value, error: err.message })),
    );
  }, deps);
  useEffect(() => {
    run();
    if (!every) return;
    const t = setInterval(run, every);
    return () => clearInterval(t);
  }, [run, every]);
  return { ...state, reload: run };
}

/** A stream the page follows while it is shown (events, stats, logs): started on mount, aborted on unmount. */
export function useStream(start: (signal: AbortSignal) => Promise<void>, deps: unknown[]): string | undefined {
  const [error, setError] = useState<string>();
  useEffect(() => {
    const ac = new AbortController();
    setError(undefined);
    start(ac.signal).catch((err: Error) => {
      if (!ac.signal.aborted) setError(err.message);
    });
    return () => ac.abort();
  }, deps);
  return error;
}
