/**
 * The images page's drawers: pull (with live per-layer progress), an
 * image's history, tag, and push to a registry with credentials sent as
 * X-Registry-Auth (progress shown as for a pull).
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Drawer, FormFooter } from '../drawer.js';
import { ago, bytes, shortId } from '../format.js';
import { EMPTY_PROGRESS, ProgressView, type ProgressState, runProgress } from '../progress.js';
import { registryAuth, registryOf } from '../registry-auth.js';
import { Notice, useLoad } from '../ui.js';

/** An image name in an API path: each segment escaped, the slashes kept (as the docker CLI sends them). */
export const imagePath = (name: string): string => name.split('/').map(encodeURIComponent).join('/');

/** `repo[:tag]` or `repo@digest` → the API's fromImage and tag, as the docker CLI splits them. */
export function splitRef(ref: string): { repo: string; tag: string } {
  const r = ref.trim();
  if (r.includes('@')) return { repo: r, tag: '' };
  const slash = r.lastIndexOf('/');
  const colon = r.lastIndexOf(':');
  return colon > slash ? { repo: r.slice(0, colon), tag: r.slice(colon + 1) } : { repo: r, tag: 'latest' };
}

function Credentials(): JSX.Element {
  return (
    <div class="grid2">
      <label>
        <span>
          Registry user <span class="dim">(optional)</span>
        </span>
        <input name="username" autocomplete="off" />
      </label>
      <label>
        Password
        <input name="password" type="password" autocomplete="new-password" />
      </label>
    </div>
  );
}

/** Runs a progress stream for a drawer; aborted when the drawer closes. */
function useProgressRun(): {
  state?: ProgressState;
  error?: string;
  busy: boolean;
  start: (path: string, auth: string) => Promise<ProgressState | undefined>;
} {
  const [state, setState] = useState<ProgressState>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const ac = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => ac.current?.abort(), []);
  const start = async (path: string, auth: string) => {
    ac.current = new AbortController();
    setError(undefined);
    setState(EMPTY_PROGRESS);
    setBusy(true);
    try {
      const end = await runProgress(path, auth, setState, ac.current!.signal);
      if (end.error) setError(end.error);
      return end;
    } catch (err) {
      if (!ac.current?.signal.aborted) setError((err as Error).message);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { state, error, busy, start };
}

export function PullDrawer(p: { onClose: () => void; onDone: () => void }): JSX.Element {
  const run = useProgressRun();
  const [ok, setOk] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    if (!f.image?.trim()) return;
    setOk(undefined);
    const { repo, tag } = splitRef(f.image);
    const q = new URLSearchParams({ fromImage: repo, ...(tag ? { tag } : {}) });
    const end = await run.start(`/images/create?${q}`, registryAuth(f.username ?? '', f.password ?? '', registryOf(repo)));
    if (end && !end.error) {
      setOk(end.lines.filter((l) => l.startsWith('Status:')).pop() ?? `Pulled ${f.image}`);
      p.onDone();
    }
  };
  return (
    <Drawer
      title="Pull an image"
      label="Pull image"
      onClose={p.onClose}
      onSubmit={submit}
      wide
      footer={<FormFooter dismiss="Close" onDismiss={p.onClose} submit="Pull" busy={run.busy && 'Pulling…'} />}
    >
      <label>
        <span>
          Image <span class="dim">(repository[:tag] or repository@digest)</span>
        </span>
        <input name="image" class="mono" placeholder="registry.example.com:5000/team/app:1.0" required autofocus />
      </label>
      <Credentials />
      {run.error && <Notice kind="error">{run.error}</Notice>}
      {ok && <Notice kind="ok">{ok}</Notice>}
      {run.state && <ProgressView state={run.state} />}
    </Drawer>
  );
}

export function PushDrawer(p: { name: string; onClose: () => void; onDone: () => void }): JSX.Element {
  const run = useProgressRun();
  const [ok, setOk] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    setOk(undefined);
    const { repo, tag } = splitRef(p.name);
    const end = await run.start(
      `/images/${imagePath(repo)}/push?tag=${encodeURIComponent(tag)}`,
      registryAuth(f.username ?? '', f.password ?? '', registryOf(repo)),
    );
    if (end && !end.error) {
      setOk(end.lines.filter((l) => /digest: sha256:/.test(l)).pop() ?? `Pushed ${p.name}`);
      p.onDone();
    }
  };
  return (
    <Drawer
      title={
        <>
          Push <span class="mono">{p.name}</span>
        </>
      }
      label="Push image"
      onClose={p.onClose}
      onSubmit={submit}
      wide
      footer={<FormFooter dismiss="Close" onDismiss={p.onClose} submit="Push" busy={run.busy && 'Pushing…'} />}
    >
      <p class="dim">
        Pushes to <span class="mono">{registryOf(p.name)}</span>. To push somewhere else, tag the image with that registry's name first.
      </p>
      <Credentials />
      {run.error && <Notice kind="error">{run.error}</Notice>}
      {ok && <Notice kind="ok">{ok}</Notice>}
      {run.state && <ProgressView state={run.state} />}
    </Drawer>
  );
}

export function TagDrawer(p: { source: string; onClose: () => void; onDone: (target: string) => void }): JSX.Element {
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const target = String(new FormData(e.currentTarget as HTMLFormElement).get('target') ?? '').trim();
    const { repo, tag } = splitRef(target);
    if (!repo) return setError('target: required');
    setError(undefined);
    try {
      await api('POST', `/images/${imagePath(p.source)}/tag?${new URLSearchParams({ repo, tag })}`);
      p.onDone(`${repo}:${tag}`);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Drawer
      title={
        <>
          Tag <span class="mono">{p.source}</span>
        </>
      }
      label="Tag image"
      onClose={p.onClose}
      onSubmit={submit}
      footer={<FormFooter dismiss="Cancel" onDismiss={p.onClose} submit="Tag" />}
    >
      {error && <Notice kind="error">{error}</Notice>}
      <label>
        <span>
          New name <span class="dim">(repository[:tag])</span>
        </span>
        <input name="target" class="mono" placeholder="127.0.0.1:5000/team/app:1.0" required autofocus />
      </label>
    </Drawer>
  );
}

interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Size: number;
  Comment: string;
  Tags: string[] | null;
}

export function HistoryDrawer(p: { name: string; onClose: () => void }): JSX.Element {
  const h = useLoad(() => api<HistoryItem[]>('GET', `/images/${imagePath(p.name)}/history`), [p.name]);
  return (
    <Drawer
      title={
        <>
          History of <span class="mono">{p.name}</span>
        </>
      }
      label="Image history"
      onClose={p.onClose}
      wide
    >
      {h.error && <Notice kind="error">{h.error}</Notice>}
      <table class="table" aria-label="History">
        <thead>
          <tr>
            <th>Layer</th>
            <th>Created</th>
            <th>Created by</th>
            <th class="right">Size</th>
          </tr>
        </thead>
        <tbody>
          {(h.value ?? []).map((x, i) => (
            <tr key={i}>
              <td class="mono small">{x.Id === '<missing>' ? <span class="dim">&lt;missing&gt;</span> : shortId(x.Id)}</td>
              <td class="dim nowrap">{ago(x.Created)}</td>
              <td class="mono small" title={x.CreatedBy}>
                {x.CreatedBy.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').slice(0, 140) || <span class="dim">{x.Comment || '—'}</span>}
              </td>
              <td class="right nowrap">{bytes(x.Size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Drawer>
  );
}
