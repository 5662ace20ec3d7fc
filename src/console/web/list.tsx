/**
 * The parts every list page shares: its header with the one primary action,
 * and its table in a card, with the notice when the list cannot be read and
 * the line shown while it loads or when it has no row.
 */
import type { ComponentChildren, JSX } from 'preact';
import { Empty, Notice, PageHeader } from './ui.js';

/** A column head; `right` aligns it (and its cells) to the right, for sizes and actions. */
export type Head = string | { label: string; right: true };

export function ListHeader(p: { title: ComponentChildren; sub: ComponentChildren; action?: string; onAction?: () => void }): JSX.Element {
  return (
    <PageHeader
      title={p.title}
      sub={p.sub}
      actions={
        p.action && (
          <button type="button" class="primary" onClick={p.onAction}>
            {p.action}
          </button>
        )
      }
    />
  );
}

export function ListTable(p: {
  heads: Head[];
  /** The notice when the list cannot be read, in its words. */
  error?: ComponentChildren;
  loading: boolean;
  /** What shows once the list is read and shows no row; false while it has rows. */
  empty: ComponentChildren | false;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <>
      {p.error && <Notice kind="error">{p.error}</Notice>}
      <div class="card flush">
        <table class="table">
          <thead>
            <tr>
              {p.heads.map((h) =>
                typeof h === 'string' ? (
                  <th key={h}>{h}</th>
                ) : (
                  <th key={h.label} class="right">
                    {h.label}
                  </th>
                ),
              )}
            </tr>
          </thead>
          <tbody>{p.children}</tbody>
        </table>
        {!p.loading && !p.error && p.empty && <Empty>{p.empty}</Empty>}
        {p.loading && !p.error && <Empty>Loading…</Empty>}
      </div>
    </>
  );
}

/** "1 volume", "3 volumes"; `more` for a paged list read only in part ("50+ tags"). */
export function countOf(n: number, one: string, many = `${one}s`, more = false): string {
  return `${n}${more ? '+' : ''} ${n === 1 && !more ? one : many}`;
}
