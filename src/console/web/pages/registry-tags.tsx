/**
 * A repository's tags in the registry browser, as Harbor lists artifacts:
 * each tag with its digest, platform, size and creation time (its manifest
 * read through the console's server, a few at a time), the pull command,
 * and Delete tag (a registry that refuses says why).
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { consoleCall } from '../api.js';
import { ago, bytes } from '../format.js';
import { navigate } from '../router.js';
import { Link, useLoad } from '../ui.js';
import { listRegistries } from './registries.js';
import { base, Crumbs, del, digestShort, type Manifest, refHref, usePaged } from './registry.js';
import { countOf, ListHeader, ListTable } from '../list.js';
import { Outcome } from '../drawer.js';

/** At most this many manifest reads at once, whatever the number of rows. */
const PARALLEL = 4;
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(f: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function TagRow(p: { id: string; repo: string; tag: string; host: string; onDelete: () => void }): JSX.Element {
  const [m, setM] = useState<Manifest | { error: string }>();
  useEffect(() => {
    let live = true;
    limited(() => consoleCall<Manifest>('GET', `${base(p.id)}/manifest?${new URLSearchParams({ repo: p.repo, ref: p.tag })}`)).then(
      (v) => live && setM(v),
      (err: Error) => live && setM({ error: err.message }),
    );
    return () => {
      live = false;
    };
  }, [p.id, p.repo, p.tag]);
  const v = m && 'digest' in m ? m : undefined;
  const platform =
    v?.kind === 'index' ? `${v.manifests?.length ?? 0} platforms` : [v?.config?.os, v?.config?.architecture, v?.config?.variant].filter(Boolean).join('/');
  const created = v?.config?.created ? Date.parse(v.config.created) / 1000 : NaN;
  return (
    <tr data-tag={p.tag}>
      <td>
        <Link href={refHref(p.id, p.repo, p.tag)} class="strong mono">
          {p.tag}
        </Link>
      </td>
      <td class="mono small" title={v?.digest}>
        {v ? (
          digestShort(v.digest)
        ) : m ? (
          <span class="dim" title={(m as { error: string }).error}>
            unavailable
          </span>
        ) : (
          <span class="dim">…</span>
        )}
      </td>
      <td class="small">{platform || <span class="dim">—</span>}</td>
      <td class="right nowrap">{v ? bytes(v.total) : ''}</td>
      <td class="dim nowrap">{Number.isFinite(created) ? ago(created) : ''}</td>
      <td class="mono small dim">
        docker pull {p.host}/{p.repo}:{p.tag}
      </td>
      <td class="right nowrap">
        <button type="button" class="small" onClick={() => navigate(refHref(p.id, p.repo, p.tag))}>
          Manifest
        </button>
        <button type="button" class="small danger" data-action="delete-tag" onClick={p.onDelete}>
          Delete tag
        </button>
      </td>
    </tr>
  );
}

export function RepositoryPage(p: { params: Record<string, string> }): JSX.Element {
  const { id, repo } = p.params as { id: string; repo: string };
  const tags = usePaged(`${base(id)}/tags?${new URLSearchParams({ repo })}`, 'tags');
  const regs = useLoad(listRegistries, []);
  const host = regs.value?.find((r) => r.id === id)?.url.replace(/^https?:\/\//, '') ?? '';
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const remove = async (tag: string) => {
    if (!confirm(`Delete the tag ${repo}:${tag} in the registry?`)) return;
    setError(undefined);
    setNote(undefined);
    try {
      setNote(await del(id, repo, tag));
      tags.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const n = tags.items.length;
  return (
    <>
      <Crumbs id={id} repo={repo} />
      <ListHeader title={<span class="mono">{repo}</span>} sub={tags.loading ? ' ' : countOf(n, 'tag', 'tags', !!tags.more)} />
      <Outcome note={note} onNoteClose={() => setNote(undefined)} error={error} onErrorClose={() => setError(undefined)} />
      <ListTable
        heads={['Tag', 'Digest', 'Platform', { label: 'Size', right: true }, 'Created', 'Pull command', { label: 'Actions', right: true }]}
        error={tags.error}
        loading={tags.loading}
        empty={!n && 'This repository has no tags.'}
      >
        {tags.items.map((t) => (
          <TagRow key={t} id={id} repo={repo} tag={t} host={host} onDelete={() => remove(t)} />
        ))}
      </ListTable>
      {tags.more && (
        <p>
          <button type="button" onClick={tags.more}>
            More
          </button>
        </p>
      )}
    </>
  );
}
