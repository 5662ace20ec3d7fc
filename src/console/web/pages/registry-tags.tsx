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
import { Empty, Link, Notice, PageHeader, useLoad } from '../ui.js';
import { listRegistries } from './registries.js';
import { base, Crumbs, del, digestShort, type Manifest, refHref, usePaged } from './registry.js';

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
      <td class="mono small dim nowrap">
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
      <PageHeader title={<span class="mono">{repo}</span>} sub={tags.loading ? ' ' : `${n}${tags.more ? '+' : ''} tag${n === 1 && !tags.more ? '' : 's'}`} />
      {note && (
        <Notice kind="ok" onClose={() => setNote(undefined)}>
          {note}
        </Notice>
      )}
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      {tags.error && <Notice kind="error">{tags.error}</Notice>}
      <div class="card flush">
        <table class="table">
          <thead>
            <tr>
              <th>Tag</th>
              <th>Digest</th>
              <th>Platform</th>
              <th class="right">Size</th>
              <th>Created</th>
              <th>Pull command</th>
              <th class="right">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tags.items.map((t) => (
              <TagRow key={t} id={id} repo={repo} tag={t} host={host} onDelete={() => remove(t)} />
            ))}
          </tbody>
        </table>
        {!tags.loading && !n && !tags.error && <Empty>This repository has no tags.</Empty>}
        {tags.loading && <Empty>Loading…</Empty>}
      </div>
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
