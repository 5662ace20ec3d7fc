/**
 * Shared pieces of the images, networks, volumes and registry pages: a
 * side drawer (the shell's drawer look; Escape closes it), a key/value list,
 * a JSON inspector and a confirm-and-act helper that reports failures.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { Notice } from './ui.js';
import './pages.css';

export function Drawer(p: {
  title: ComponentChildren;
  label: string;
  onClose: () => void;
  children: ComponentChildren;
  footer?: ComponentChildren;
  onSubmit?: (e: Event) => void;
  wide?: boolean;
}): JSX.Element {
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && p.onClose();
    document.addEventListener('keydown', esc);
    return () => document.removeEventListener('keydown', esc);
  }, [p.onClose]);
  const inner = (
    <>
      <header>
        <h2>{p.title}</h2>
        <button type="button" class="link" onClick={p.onClose} aria-label="Close">
          ×
        </button>
      </header>
      <div class="drawer-body">{p.children}</div>
      {p.footer && <footer>{p.footer}</footer>}
    </>
  );
  const cls = `drawer${p.wide ? ' wide' : ''}`;
  return (
    <div class="drawer-back">
      {p.onSubmit ? (
        <form class={cls} onSubmit={p.onSubmit} aria-label={p.label}>
          {inner}
        </form>
      ) : (
        <section class={cls} aria-label={p.label}>
          {inner}
        </section>
      )}
    </div>
  );
}

/** A form drawer's footer: a dismiss button and the primary submit, disabled and relabelled while it works. */
export function FormFooter(p: { dismiss: string; onDismiss: () => void; submit: string; busy?: string | false }): JSX.Element {
  return (
    <>
      <button type="button" onClick={p.onDismiss}>
        {p.dismiss}
      </button>
      <button type="submit" class="primary" disabled={!!p.busy}>
        {p.busy || p.submit}
      </button>
    </>
  );
}

/** A list page's outcome: what was done, or what failed, offering Force remove when the engine answered 409 (and the page can force). */
export function Outcome<T>(p: {
  note?: string;
  onNoteClose?: () => void;
  error?: string | { text: string; force?: T };
  onErrorClose: () => void;
  onForce?: (target: T) => void;
}): JSX.Element {
  const error = typeof p.error === 'string' ? { text: p.error, force: undefined } : p.error;
  return (
    <>
      {p.note && (
        <Notice kind="ok" onClose={p.onNoteClose}>
          {p.note}
        </Notice>
      )}
      {error?.text && (
        <Notice kind="error" onClose={p.onErrorClose}>
          {error.text}
          {error.force !== undefined && p.onForce && (
            <>
              {' '}
              <button type="button" class="small danger" onClick={() => p.onForce?.(error.force as T)}>
                Force remove
              </button>
            </>
          )}
        </Notice>
      )}
    </>
  );
}

/** Label → value rows (values already formatted); empty values are left out. */
export function KeyValues(p: { rows: [string, ComponentChildren][] }): JSX.Element {
  return (
    <dl class="kv">
      {p.rows
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => (
          <>
            <dt key={`${k}-k`}>{k}</dt>
            <dd key={`${k}-v`}>{v}</dd>
          </>
        ))}
    </dl>
  );
}

export function JsonView(p: { value: unknown }): JSX.Element {
  return <pre class="json">{JSON.stringify(p.value, null, 2)}</pre>;
}

/** Label=value lines (labels, options) → an object; a line without "=" is refused with its text. */
export function parsePairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`${what}: ${JSON.stringify(line)} is not KEY=value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function Labels(p: { labels?: Record<string, string> | null }): JSX.Element | null {
  const entries = Object.entries(p.labels ?? {});
  if (!entries.length) return null;
  return (
    <div class="labels">
      {entries.map(([k, v]) => (
        <span class="tag" key={k} title={`${k}=${v}`}>
          {k}
          {v ? `=${v}` : ''}
        </span>
      ))}
    </div>
  );
}
