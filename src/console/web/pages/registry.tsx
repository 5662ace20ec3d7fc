/**
 * The registry browser's screens (Harbor's core ones), on the console
 * server's /console/registries API: a registry's catalog, a repository's
 * tags (registry-tags.tsx), and a manifest: media type, digest, layers with
 * sizes and the total, an index's platforms; delete it by digest. A
 * registry that refuses deletes (405 UNSUPPORTED) says so in the notice.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { consoleCall } from '../api.js';
import { KeyValues } from '../drawer.js';
import { bytes, shortId } from '../format.js';
import { Empty, Link, Notice, PageHeader, useLoad } from '../ui.js';
import { listRegistries } from './registries.js';
import { countOf, ListHeader, ListTable } from '../list.js';

export const base = (id: string) => `/console/registries/${encodeURIComponent(id)}`;
export const repoHref = (id: string, repo: string) => `/registries/${id}/${encodeURIComponent(repo)}`;
export const refHref = (id: string, repo: string, ref: string) => `${repoHref(id, repo)}/${encodeURIComponent(ref)}`;

export function Crumbs(p: { id: string; repo?: string; refName?: string }): JSX.Element {
  const regs = useLoad(listRegistries, []);
  const name = regs.value?.find((r) => r.id === p.id)?.name ?? '…';
  return (
    <nav class="crumbs" aria-label="Breadcrumbs">
      <Link href="/registries">Registries</Link> ›<Link href={`/registries/${p.id}`}>{name}</Link>
      {p.repo && (
        <>
          {' '}
          ›<Link href={repoHref(p.id, p.repo)}>{p.repo}</Link>
        </>
      )}
      {p.refName && <> › {p.refName.startsWith('sha256:') ? shortId(p.refName) : p.refName}</>}
    </nav>
  );
}

/** A paged list (catalog, tags): loads 100 at a time, "More" follows the registry's Link. */
export function usePaged(
  path: string,
  key: 'repositories' | 'tags',
): { items: string[]; error?: string; more?: () => void; loading: boolean; reload: () => void } {
  const [pages, setPages] = useState<string[]>(['']);
  const [items, setItems] = useState<Record<string, string[]>>({});
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<string>();
  const load = useLoad(async () => {
    const last = pages.at(-1)!;
    const v = await consoleCall<Record<string, unknown>>('GET', `${path}${path.includes('?') ? '&' : '?'}last=${encodeURIComponent(last)}`);
    setItems((x) => ({ ...x, [last]: (v[key] as string[]) ?? [] }));
    setNext(v.next as string | undefined);
    setError(undefined);
    return true;
  }, [path, pages.length]);
  return {
    items: pages.flatMap((pg) => items[pg] ?? []),
    error: load.error ?? error,
    loading: !load.value && !load.error,
    more: next ? () => setPages((ps) => [...ps, next]) : undefined,
    reload: () => {
      setItems({});
      setPages(['']);
      load.reload();
    },
  };
}

export function RegistryPage(p: { params: Record<string, string> }): JSX.Element {
  const id = p.params.id!;
  const cat = usePaged(`${base(id)}/catalog`, 'repositories');
  const [filter, setFilter] = useState('');
  const shown = cat.items.filter((r) => r.includes(filter.trim()));
  return (
    <>
      <Crumbs id={id} />
      <ListHeader title="Repositories" sub={cat.loading ? ' ' : countOf(cat.items.length, 'repository', 'repositories', !!cat.more)} />
      <div class="toolbar">
        <input
          type="search"
          placeholder="Filter repositories"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          aria-label="Filter repositories"
        />
      </div>
      <ListTable
        heads={['Repository']}
        error={cat.error}
        loading={cat.loading}
        empty={!shown.length && (cat.items.length ? 'No repository matches this filter.' : 'This registry has no repositories.')}
      >
        {shown.map((r) => (
          <tr key={r} data-repo={r}>
            <td>
              <Link href={repoHref(id, r)} class="strong mono">
                {r}
              </Link>
            </td>
          </tr>
        ))}
      </ListTable>
      {cat.more && (
        <p>
          <button type="button" onClick={cat.more}>
            More
          </button>
        </p>
      )}
    </>
  );
}

export async function del(id: string, repo: string, ref: string): Promise<string> {
  const r = await consoleCall<{ message: string }>('DELETE', `${base(id)}/manifest?${new URLSearchParams({ repo, ref })}`);
  return r.message;
}

export interface Manifest {
  repo: string;
  ref: string;
  kind: 'image' | 'index' | 'other';
  mediaType: string;
  digest: string;
  size: number;
  total: number;
  config?: { mediaType?: string; digest: string; size: number; created?: string; os?: string; architecture?: string; variant?: string; history?: number };
  layers?: { mediaType?: string; digest: string; size: number }[];
  manifests?: { mediaType?: string; digest: string; size: number; imageSize?: number; platform?: { os?: string; architecture?: string; variant?: string } }[];
  raw?: string;
}

/** A digest as Harbor lists them: the algorithm and the first 16 hex digits (the whole one in the title). */
export const digestShort = (d: string) => (d.length > 23 ? `${d.slice(0, 23)}…` : d);

function SizeBar(p: { size: number; max: number }): JSX.Element {
  return <span class="size-bar" style={{ width: `${Math.max(2, Math.round((80 * p.size) / Math.max(1, p.max)))}px` }} />;
}

function Table(p: { head: string[]; children: ComponentChildren; label: string }): JSX.Element {
  return (
    <div class="card flush">
      <table class="table" aria-label={p.label}>
        <thead>
          <tr>
            {p.head.map((h) => (
              <th key={h} class={h === 'Size' ? 'right' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{p.children}</tbody>
      </table>
    </div>
  );
}

export function ManifestPage(p: { params: Record<string, string> }): JSX.Element {
  const { id, repo, ref } = p.params as { id: string; repo: string; ref: string };
  const m = useLoad(() => consoleCall<Manifest>('GET', `${base(id)}/manifest?${new URLSearchParams({ repo, ref })}`), [id, repo, ref]);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const v = m.value;
  const remove = async () => {
    if (!v || !confirm(`Delete the manifest ${shortId(v.digest)} and every tag that points to it?`)) return;
    setError(undefined);
    try {
      setNote(await del(id, repo, v.digest));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const maxLayer = Math.max(0, ...(v?.layers ?? []).map((l) => l.size));
  const platform = v?.config ? [v.config.os, v.config.architecture, v.config.variant].filter(Boolean).join('/') : '';
  return (
    <>
      <Crumbs id={id} repo={repo} refName={ref} />
      <PageHeader
        title={
          <span class="mono">
            {repo}
            {ref.includes(':') ? '@' : ':'}
            {ref.includes(':') ? shortId(ref) : ref}
          </span>
        }
        sub={v ? `${v.kind === 'index' ? `Index of ${v.manifests?.length ?? 0} platforms` : 'Image'} · ${bytes(v.total)} in all` : ' '}
        actions={
          v && (
            <button type="button" class="danger" data-action="delete-manifest" onClick={remove}>
              Delete manifest
            </button>
          )
        }
      />
      {note && <Notice kind="ok">{note}</Notice>}
      {error && (
        <Notice kind="error" onClose={() => setError(undefined)}>
          {error}
        </Notice>
      )}
      {m.error && <Notice kind="error">{m.error}</Notice>}
      {!v && !m.error && <Empty>Loading…</Empty>}
      {v && (
        <div class="card">
          <KeyValues
            rows={[
              ['Media type', <span class="mono">{v.mediaType}</span>],
              ['Digest', <span class="mono">{v.digest}</span>],
              ['Manifest size', bytes(v.size)],
              ['Platform', platform],
              ['Created', v.config?.created],
              ['Total size', <strong>{bytes(v.total)}</strong>],
            ]}
          />
        </div>
      )}
      {v?.kind === 'image' && (
        <>
          <h2 class="section">Layers ({v.layers!.length})</h2>
          <Table head={['#', 'Digest', 'Media type', 'Size']} label="Layers">
            {v.layers!.map((l, i) => (
              <tr key={l.digest + i} data-digest={l.digest}>
                <td class="dim">{i + 1}</td>
                <td class="mono small" title={l.digest}>
                  {digestShort(l.digest)}
                </td>
                <td class="mono small dim">{l.mediaType}</td>
                <td class="right nowrap">
                  <SizeBar size={l.size} max={maxLayer} />
                  {bytes(l.size)}
                </td>
              </tr>
            ))}
            <tr>
              <td class="dim">—</td>
              <td class="mono small" title={v.config!.digest}>
                {digestShort(v.config!.digest)}
              </td>
              <td class="mono small dim">{v.config!.mediaType} (config)</td>
              <td class="right nowrap">{bytes(v.config!.size)}</td>
            </tr>
            <tr class="total-row">
              <td />
              <td colSpan={2}>Total</td>
              <td class="right nowrap">{bytes(v.total)}</td>
            </tr>
          </Table>
        </>
      )}
      {v?.kind === 'index' && (
        <>
          <h2 class="section">Platforms ({v.manifests!.length})</h2>
          <Table head={['Platform', 'Digest', 'Media type', 'Size']} label="Platforms">
            {v.manifests!.map((d) => (
              <tr key={d.digest}>
                <td>{[d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join('/') || <span class="dim">unknown</span>}</td>
                <td class="mono small">
                  <Link href={refHref(id, repo, d.digest)}>{digestShort(d.digest)}</Link>
                </td>
                <td class="mono small dim">{d.mediaType}</td>
                <td class="right nowrap" title="the platform image: its layers and config">
                  {d.imageSize === undefined ? <span class="dim">—</span> : bytes(d.imageSize)}
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
      {v?.kind === 'other' && <pre class="json">{v.raw}</pre>}
    </>
  );
}
