/**
 * Volumes: the list (name, driver, mount point, labels), create (name,
 * driver, driver options, labels), remove (with force) and inspect.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { Drawer, JsonView, KeyValues, Labels, parsePairs, FormFooter, Outcome } from '../drawer.js';
import { ago } from '../format.js';
import { Notice, useLoad } from '../ui.js';
import { countOf, ListHeader, ListTable } from '../list.js';

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  Options?: Record<string, string> | null;
  Scope: string;
}

function CreateVolume(p: { onClose: () => void; onCreated: (name: string) => void }): JSX.Element {
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    setError(undefined);
    try {
      const made = await api<Volume>('POST', '/volumes/create', {
        Name: f.name?.trim() ?? '',
        Driver: f.driver?.trim() || 'local',
        DriverOpts: parsePairs(f.opts ?? '', 'driver options'),
        Labels: parsePairs(f.labels ?? '', 'labels'),
      });
      p.onCreated(made.Name);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Drawer
      title="Create a volume"
      label="Create volume"
      onClose={p.onClose}
      onSubmit={submit}
      footer={<FormFooter dismiss="Cancel" onDismiss={p.onClose} submit="Create" />}
    >
      {error && <Notice kind="error">{error}</Notice>}
      <div class="grid2">
        <label>
          <span>
            Name <span class="dim">(empty: a random name)</span>
          </span>
          <input name="name" placeholder="pgdata" autofocus />
        </label>
        <label>
          Driver
          <input name="driver" placeholder="local" />
        </label>
      </div>
      <label>
        <span>
          Driver options <span class="dim">(KEY=value, one a line; e.g. type=tmpfs)</span>
        </span>
        <textarea name="opts" rows={3} class="mono" />
      </label>
      <label>
        <span>
          Labels <span class="dim">(KEY=value, one a line)</span>
        </span>
        <textarea name="labels" rows={3} class="mono" />
      </label>
    </Drawer>
  );
}

function InspectVolume(p: { name: string; onClose: () => void }): JSX.Element {
  const v = useLoad(() => api<Volume>('GET', `/volumes/${encodeURIComponent(p.name)}`), [p.name]);
  return (
    <Drawer title={<>Volume {p.name}</>} label="Volume details" onClose={p.onClose} wide>
      {v.error && <Notice kind="error">{v.error}</Notice>}
      {v.value && (
        <>
          <KeyValues
            rows={[
              ['Driver', v.value.Driver],
              ['Mount point', <span class="mono">{v.value.Mountpoint}</span>],
              ['Scope', v.value.Scope],
              ['Created', v.value.CreatedAt],
              ['Labels', <Labels labels={v.value.Labels} />],
            ]}
          />
          <h2 class="section">Inspect</h2>
          <JsonView value={v.value} />
        </>
      )}
    </Drawer>
  );
}

export function VolumesPage(): JSX.Element {
  const list = useLoad(() => api<{ Volumes: Volume[] | null }>('GET', '/volumes'), [], 5000);
  const [creating, setCreating] = useState(false);
  const [inspect, setInspect] = useState<string>();
  const [error, setError] = useState<{ text: string; force?: string }>();
  const [note, setNote] = useState<string>();
  const [filter, setFilter] = useState('');

  const remove = async (name: string, force = false) => {
    if (!force && !confirm(`Remove volume ${name}? Its data is deleted.`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/volumes/${encodeURIComponent(name)}${force ? '?force=1' : ''}`);
      setNote(`Removed volume ${name}`);
    } catch (err) {
      setError({ text: `Remove ${name}: ${(err as Error).message}`, force: err instanceof ApiError && err.status === 409 && !force ? name : undefined });
    }
    list.reload();
  };
  const all = [...(list.value?.Volumes ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  const rows = filter ? all.filter((v) => v.Name.includes(filter) || Object.entries(v.Labels ?? {}).some(([k, x]) => `${k}=${x}`.includes(filter))) : all;
  return (
    <>
      <ListHeader title="Volumes" sub={list.value ? countOf(all.length, 'volume') : ' '} action="+ Create volume" onAction={() => setCreating(true)} />
      {creating && (
        <CreateVolume
          onClose={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            setNote(`Created volume ${name}`);
            list.reload();
          }}
        />
      )}
      {inspect && <InspectVolume name={inspect} onClose={() => setInspect(undefined)} />}
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
          placeholder="Filter by name or label"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          aria-label="Filter volumes"
        />
      </div>
      <ListTable
        heads={['Name', 'Driver', 'Mount point', 'Labels', 'Created', { label: 'Actions', right: true }]}
        error={list.error && `Cannot list volumes: ${list.error}`}
        loading={!list.value}
        empty={!rows.length && (all.length ? 'No volume matches this filter.' : 'No volumes yet.')}
      >
        {rows.map((v) => (
          <tr key={v.Name} data-name={v.Name}>
            <td>
              <button type="button" class="namelink mono" onClick={() => setInspect(v.Name)}>
                {v.Name.length > 24 ? `${v.Name.slice(0, 24)}…` : v.Name}
              </button>
            </td>
            <td>{v.Driver}</td>
            <td class="mono small dim">{v.Mountpoint}</td>
            <td>
              <Labels labels={v.Labels} />
            </td>
            <td class="dim nowrap">{v.CreatedAt ? ago(Date.parse(v.CreatedAt) / 1000) : '—'}</td>
            <td class="right nowrap">
              <button type="button" class="small" data-action="inspect" onClick={() => setInspect(v.Name)}>
                Inspect
              </button>
              <button type="button" class="small danger" data-action="remove" onClick={() => remove(v.Name)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}
