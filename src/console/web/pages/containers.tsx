/** Containers: the list with state, filters and lifecycle actions, and the create form (container-create.tsx). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ago, shortId } from '../format.js';
import { Badge, Link, useLoad } from '../ui.js';
import { CreateContainer } from './container-create.js';
import { ListHeader, ListTable } from '../list.js';
import { Outcome } from '../drawer.js';

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

type Action = 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill' | 'remove';

/** The actions that make sense in a state, in the order they are shown. */
export function actionsFor(state: string): Action[] {
  if (state === 'running') return ['stop', 'restart', 'pause', 'kill'];
  if (state === 'paused') return ['unpause', 'kill'];
  if (state === 'restarting') return ['stop', 'kill'];
  return ['start', 'remove'];
}

export async function runAction(id: string, a: Action): Promise<void> {
  if (a === 'remove') await api('DELETE', `/containers/${encodeURIComponent(id)}?v=1`);
  else await api('POST', `/containers/${encodeURIComponent(id)}/${a}`);
}

export const ACTION_LABEL: Record<Action, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  pause: 'Pause',
  unpause: 'Unpause',
  kill: 'Kill',
  remove: 'Remove',
};

function ports(c: ContainerSummary): string {
  return c.Ports.map((p) =>
    p.PublicPort ? `${p.IP && p.IP !== '0.0.0.0' ? `${p.IP}:` : ''}${p.PublicPort}→${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`,
  )
    .filter((v, i, a) => a.indexOf(v) === i)
    .join(', ');
}

export function ContainersPage(): JSX.Element {
  const list = useLoad(() => api<ContainerSummary[]>('GET', '/containers/json?all=1'), [], 3000);
  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [state, setState] = useState('');
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const [creating, setCreating] = useState(false);

  const act = async (c: ContainerSummary, a: Action) => {
    const label = c.Names[0]?.slice(1) ?? shortId(c.Id);
    if ((a === 'remove' || a === 'kill') && !confirm(`${ACTION_LABEL[a]} ${label}?`)) return;
    setBusy(c.Id);
    setError(undefined);
    try {
      await runAction(c.Id, a);
    } catch (err) {
      setError(`${ACTION_LABEL[a]} ${label}: ${(err as Error).message}`);
    }
    setBusy(undefined);
    list.reload();
  };

  const rows = (list.value ?? []).filter(
    (c) =>
      (!name || c.Names.some((n) => n.toLowerCase().includes(name.toLowerCase())) || c.Id.startsWith(name)) &&
      (!image || c.Image.toLowerCase().includes(image.toLowerCase())) &&
      (!state || c.State === state),
  );
  const counts: Record<string, number> = {};
  for (const c of list.value ?? []) counts[c.State] = (counts[c.State] ?? 0) + 1;

  return (
    <>
      <ListHeader
        title="Containers"
        sub={list.value ? `${list.value.length} in all · ${counts.running ?? 0} running` : ' '}
        action="+ Create container"
        onAction={() => setCreating(true)}
      />
      {creating && (
        <CreateContainer
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            list.reload();
          }}
        />
      )}
      <Outcome error={error} onErrorClose={() => setError(undefined)} />
      <div class="toolbar">
        <input type="search" placeholder="Filter by name or ID" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="Filter by name" />
        <input type="search" placeholder="Filter by image" value={image} onInput={(e) => setImage(e.currentTarget.value)} aria-label="Filter by image" />
        <select value={state} onChange={(e) => setState(e.currentTarget.value)} aria-label="Filter by state">
          <option value="">Any state</option>
          {['running', 'paused', 'restarting', 'created', 'exited', 'dead'].map((s) => (
            <option value={s} key={s}>
              {s}
              {counts[s] ? ` (${counts[s]})` : ''}
            </option>
          ))}
        </select>
      </div>
      <ListTable
        heads={['Name', 'State', 'Image', 'Status', 'Ports', 'Created', { label: 'Actions', right: true }]}
        error={list.error && `Cannot list containers: ${list.error}`}
        loading={!list.value}
        empty={!rows.length && (list.value?.length ? 'No container matches these filters.' : 'No containers yet. Create one from an image.')}
      >
        {rows.map((c) => {
          const label = c.Names[0]?.slice(1) ?? shortId(c.Id);
          return (
            <tr key={c.Id} data-name={label}>
              <td>
                <Link href={`/containers/${label}`} class="strong">
                  {label}
                </Link>
                <div class="mono dim">{shortId(c.Id)}</div>
              </td>
              <td>
                <Badge state={c.State} />
              </td>
              <td class="mono">{c.Image}</td>
              <td>{c.Status}</td>
              <td class="mono small">{ports(c) || <span class="dim">—</span>}</td>
              <td class="dim">{ago(c.Created)}</td>
              <td class="right nowrap">
                {actionsFor(c.State).map((a) => (
                  <button
                    type="button"
                    key={a}
                    class={`small ${a === 'remove' || a === 'kill' ? 'danger' : ''}`}
                    disabled={busy === c.Id}
                    onClick={() => act(c, a)}
                    data-action={a}
                  >
                    {ACTION_LABEL[a]}
                  </button>
                ))}
              </td>
            </tr>
          );
        })}
      </ListTable>
    </>
  );
}
