/**
 * Images: the list (repository, tag, ID, created, size; a filter), pull
 * with live progress, remove (a conflict offers a forced remove), history,
 * tag and push (image-drawers.tsx).
 */
import { Outcome } from '../drawer.js';
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { ago, bytes, shortId } from '../format.js';
import { useLoad } from '../ui.js';
import { HistoryDrawer, imagePath, PullDrawer, PushDrawer, TagDrawer } from './image-drawers.js';
import { countOf, ListHeader, ListTable } from '../list.js';

interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  Containers?: number;
}

interface Row {
  id: string;
  repo: string;
  tag: string;
  /** What the API calls it by: repo:tag, or the ID when untagged. */
  ref: string;
  created: number;
  size: number;
}

/** One row per tag, as `docker images` lists them; untagged images once, as <none>. */
export function rowsOf(images: ImageSummary[]): Row[] {
  const out: Row[] = [];
  for (const i of images) {
    const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
    if (!tags.length) {
      const repo = (i.RepoDigests ?? [])[0]?.split('@')[0] ?? '<none>';
      out.push({ id: i.Id, repo, tag: '<none>', ref: i.Id, created: i.Created, size: i.Size });
    }
    for (const t of tags) {
      const c = t.lastIndexOf(':');
      out.push({ id: i.Id, repo: t.slice(0, c), tag: t.slice(c + 1), ref: t, created: i.Created, size: i.Size });
    }
  }
  return out.sort((a, b) => a.repo.localeCompare(b.repo) || a.tag.localeCompare(b.tag));
}

type Open = { kind: 'pull' } | { kind: 'history' | 'tag' | 'push'; name: string } | undefined;

export function ImagesPage(): JSX.Element {
  const list = useLoad(() => api<ImageSummary[]>('GET', '/images/json'), [], 5000);
  const [filter, setFilter] = useState('');
  const [open, setOpen] = useState<Open>();
  const [error, setError] = useState<{ text: string; force?: Row }>();
  const [note, setNote] = useState<string>();
  const [busy, setBusy] = useState<string>();

  const remove = async (r: Row, force = false) => {
    if (!force && !confirm(`Remove ${r.ref === r.id ? shortId(r.id) : r.ref}?`)) return;
    setBusy(r.ref);
    setError(undefined);
    setNote(undefined);
    try {
      const gone = await api<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${imagePath(r.ref)}${force ? '?force=1' : ''}`);
      const deleted = (gone ?? []).filter((g) => g.Deleted).length;
      setNote(`Removed ${r.ref === r.id ? shortId(r.id) : r.ref}${deleted ? ` (${deleted} deleted)` : ' (untagged)'}`);
    } catch (err) {
      setError({ text: `Remove ${r.ref}: ${(err as Error).message}`, force: err instanceof ApiError && err.status === 409 && !force ? r : undefined });
    }
    setBusy(undefined);
    list.reload();
  };

  const rows = rowsOf(list.value ?? []);
  const q = filter.trim().toLowerCase();
  const shown = q ? rows.filter((r) => `${r.repo}:${r.tag}`.toLowerCase().includes(q) || r.id.replace(/^sha256:/, '').startsWith(q)) : rows;
  const total = (list.value ?? []).reduce((s, i) => s + i.Size, 0);

  return (
    <>
      <ListHeader
        title="Images"
        sub={list.value ? `${countOf(list.value.length, 'image')} · ${bytes(total)}` : ' '}
        action="↓ Pull image"
        onAction={() => setOpen({ kind: 'pull' })}
      />
      {open?.kind === 'pull' && <PullDrawer onClose={() => setOpen(undefined)} onDone={list.reload} />}
      {open?.kind === 'history' && <HistoryDrawer name={open.name} onClose={() => setOpen(undefined)} />}
      {open?.kind === 'push' && <PushDrawer name={open.name} onClose={() => setOpen(undefined)} onDone={list.reload} />}
      {open?.kind === 'tag' && (
        <TagDrawer
          source={open.name}
          onClose={() => setOpen(undefined)}
          onDone={(t) => {
            setOpen(undefined);
            setNote(`Tagged ${open.name} as ${t}`);
            list.reload();
          }}
        />
      )}
      <Outcome
        note={note}
        onNoteClose={() => setNote(undefined)}
        error={error}
        onErrorClose={() => setError(undefined)}
        onForce={(target) => remove(target, true)}
      />
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter by repository, tag or ID"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          aria-label="Filter images"
        />
      </div>
      <ListTable
        heads={['Repository', 'Tag', 'Image ID', 'Created', { label: 'Size', right: true }, { label: 'Actions', right: true }]}
        error={list.error && `Cannot list images: ${list.error}`}
        loading={!list.value}
        empty={!shown.length && (rows.length ? 'No image matches this filter.' : 'No images yet. Pull one from a registry.')}
      >
        {shown.map((r) => (
          <tr key={`${r.id}-${r.ref}`} data-ref={r.ref}>
            <td class="mono strong">{r.repo}</td>
            <td class="mono">{r.tag === '<none>' ? <span class="dim">&lt;none&gt;</span> : <span class="tag">{r.tag}</span>}</td>
            <td class="mono dim">{shortId(r.id)}</td>
            <td class="dim nowrap">{ago(r.created)}</td>
            <td class="right nowrap">{bytes(r.size)}</td>
            <td class="right nowrap">
              <button type="button" class="small" data-action="history" onClick={() => setOpen({ kind: 'history', name: r.ref })}>
                History
              </button>
              <button type="button" class="small" data-action="tag" onClick={() => setOpen({ kind: 'tag', name: r.ref })}>
                Tag
              </button>
              <button type="button" class="small" data-action="push" disabled={r.ref === r.id} onClick={() => setOpen({ kind: 'push', name: r.ref })}>
                Push
              </button>
              <button type="button" class="small danger" data-action="remove" disabled={busy === r.ref} onClick={() => remove(r)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}
