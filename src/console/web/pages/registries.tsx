/**
 * The registry browser's first screen: the registries this console user
 * added (stored by the console's server; passwords stay there), add one
 * (URL, optional user name and password) and remove one.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { consoleCall } from '../api.js';
import { Drawer, FormFooter, Outcome } from '../drawer.js';
import { Link, Notice, useLoad } from '../ui.js';
import { ListHeader, ListTable } from '../list.js';

export interface RegistryInfo {
  id: string;
  name: string;
  url: string;
  username?: string;
  hasPassword: boolean;
  insecure: boolean;
}

export const listRegistries = () => consoleCall<RegistryInfo[]>('GET', '/console/registries');

function AddRegistry(p: { onClose: () => void; onAdded: (r: RegistryInfo) => void }): JSX.Element {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    setError(undefined);
    setBusy(true);
    try {
      const r = await consoleCall<RegistryInfo>('POST', '/console/registries', {
        name: f.name,
        url: f.url,
        username: f.username || undefined,
        password: f.password || undefined,
        insecure: f.insecure === 'on',
      });
      p.onAdded(r);
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };
  return (
    <Drawer
      title="Add a registry"
      label="Add registry"
      onClose={p.onClose}
      onSubmit={submit}
      footer={<FormFooter dismiss="Cancel" onDismiss={p.onClose} submit="Add" busy={busy && 'Connecting…'} />}
    >
      {error && <Notice kind="error">{error}</Notice>}
      <label>
        <span>
          URL <span class="dim">(http:// or https://, host and port)</span>
        </span>
        <input name="url" class="mono" required placeholder="https://registry.example.com:5000" autofocus />
      </label>
      <label>
        <span>
          Name <span class="dim">(optional)</span>
        </span>
        <input name="name" placeholder="team registry" />
      </label>
      <div class="grid2">
        <label>
          <span>
            User name <span class="dim">(optional)</span>
          </span>
          <input name="username" autocomplete="off" />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="new-password" />
        </label>
      </div>
      <label class="check">
        <input type="checkbox" name="insecure" /> Do not verify the TLS certificate
      </label>
      <p class="dim small">The console's server calls the registry and keeps the password; it is never sent back to the browser.</p>
    </Drawer>
  );
}

export function RegistriesPage(): JSX.Element {
  const list = useLoad(listRegistries, []);
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const remove = async (r: RegistryInfo) => {
    if (!confirm(`Remove ${r.name} from your registries? (Nothing is deleted in the registry.)`)) return;
    try {
      await consoleCall('DELETE', `/console/registries/${r.id}`);
      setNote(`Removed ${r.name}`);
    } catch (err) {
      setError((err as Error).message);
    }
    list.reload();
  };
  return (
    <>
      <ListHeader
        title="Registries"
        sub="Browse the repositories, tags and manifests of any registry you add."
        action="+ Add registry"
        onAction={() => setAdding(true)}
      />
      {adding && (
        <AddRegistry
          onClose={() => setAdding(false)}
          onAdded={(r) => {
            setAdding(false);
            setNote(`Added ${r.name}`);
            list.reload();
          }}
        />
      )}
      <Outcome note={note} onNoteClose={() => setNote(undefined)} error={error} onErrorClose={() => setError(undefined)} />
      <ListTable
        heads={['Name', 'URL', 'Signed in as', { label: 'Actions', right: true }]}
        error={list.error && `Cannot list registries: ${list.error}`}
        loading={!list.value}
        empty={!list.value?.length && 'No registries yet. Add one by its URL.'}
      >
        {(list.value ?? []).map((r) => (
          <tr key={r.id} data-name={r.name}>
            <td>
              <Link href={`/registries/${r.id}`} class="strong">
                {r.name}
              </Link>
            </td>
            <td class="mono">
              {r.url}
              {r.insecure && <span class="chip warn"> TLS not verified</span>}
            </td>
            <td>{r.username ?? <span class="dim">anonymous</span>}</td>
            <td class="right nowrap">
              <Link href={`/registries/${r.id}`} class="button small">
                Browse
              </Link>{' '}
              <button type="button" class="small danger" data-action="remove" onClick={() => remove(r)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}
