/**
 * Networks: the list (name, driver, subnets, labels), create (name, driver,
 * subnet and gateway, internal, labels), remove (the predefined ones cannot
 * be) and inspect (a summary, the attached containers, the whole JSON).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Drawer, JsonView, KeyValues, Labels, parsePairs, FormFooter, Outcome } from '../drawer.js';
import { ago, shortId } from '../format.js';
import { Notice, useLoad } from '../ui.js';
import { countOf, ListHeader, ListTable } from '../list.js';

interface Network {
  Name: string;
  Id: string;
  Created: string;
  Driver: string;
  Scope: string;
  Internal: boolean;
  IPAM: { Driver: string; Config: { Subnet?: string; Gateway?: string }[] | null };
  Labels: Record<string, string> | null;
  Containers?: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

function subnets(n: Network): string {
  return (n.IPAM.Config ?? []).map((c) => [c.Subnet, c.Gateway && `gw ${c.Gateway}`].filter(Boolean).join(' · ')).join(', ');
}

function CreateNetwork(p: { onClose: () => void; onCreated: (name: string) => void }): JSX.Element {
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    setError(undefined);
    try {
      const labels = parsePairs(f.labels ?? '', 'labels');
      const config =
        f.subnet?.trim() || f.gateway?.trim()
          ? [{ ...(f.subnet?.trim() ? { Subnet: f.subnet.trim() } : {}), ...(f.gateway?.trim() ? { Gateway: f.gateway.trim() } : {}) }]
          : [];
      await api('POST', '/networks/create', {
        Name: f.name?.trim(),
        Driver: f.driver || 'bridge',
        Internal: f.internal === 'on',
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: config },
        Labels: labels,
      });
      p.onCreated(f.name!.trim());
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Drawer
      title="Create a network"
      label="Create network"
      onClose={p.onClose}
      onSubmit={submit}
      footer={<FormFooter dismiss="Cancel" onDismiss={p.onClose} submit="Create" />}
    >
      {error && <Notice kind="error">{error}</Notice>}
      <div class="grid2">
        <label>
          Name
          <input name="name" required placeholder="backend" autofocus />
        </label>
        <label>
          Driver
          <select name="driver">
            <option value="bridge">bridge</option>
            <option value="macvlan">macvlan</option>
            <option value="ipvlan">ipvlan</option>
          </select>
        </label>
      </div>
      <div class="grid2">
        <label>
          <span>
            Subnet <span class="dim">(optional, CIDR)</span>
          </span>
          <input name="subnet" class="mono" placeholder="172.30.0.0/24" />
        </label>
        <label>
          <span>
            Gateway <span class="dim">(optional)</span>
          </span>
          <input name="gateway" class="mono" placeholder="172.30.0.1" />
        </label>
      </div>
      <label>
        <span>
          Labels <span class="dim">(KEY=value, one a line)</span>
        </span>
        <textarea name="labels" rows={3} class="mono" />
      </label>
      <label class="check">
        <input type="checkbox" name="internal" /> Internal (no outside access)
      </label>
    </Drawer>
  );
}

function InspectNetwork(p: { id: string; onClose: () => void }): JSX.Element {
  const n = useLoad(() => api<Network>('GET', `/networks/${encodeURIComponent(p.id)}`), [p.id]);
  const v = n.value;
  const attached = Object.values(v?.Containers ?? {});
  return (
    <Drawer title={<>Network {v?.Name ?? ''}</>} label="Network details" onClose={p.onClose} wide>
      {n.error && <Notice kind="error">{n.error}</Notice>}
      {v && (
        <>
          <KeyValues
            rows={[
              ['ID', <span class="mono">{v.Id}</span>],
              ['Driver', v.Driver],
              ['Scope', v.Scope],
              ['Subnets', <span class="mono">{subnets(v) || '—'}</span>],
              ['Internal', v.Internal ? 'yes' : 'no'],
              ['Created', v.Created],
              ['Labels', <Labels labels={v.Labels} />],
            ]}
          />
          <h2 class="section">Containers ({attached.length})</h2>
          {attached.length ? (
            <table class="table">
              <tbody>
                {attached.map((c) => (
                  <tr key={c.Name}>
                    <td>{c.Name}</td>
                    <td class="mono">{c.IPv4Address}</td>
                    <td class="mono dim">{c.MacAddress}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="dim">No container is attached.</p>
          )}
          <h2 class="section">Inspect</h2>
          <JsonView value={v} />
        </>
      )}
    </Drawer>
  );
}

export function NetworksPage(): JSX.Element {
  const list = useLoad(() => api<Network[]>('GET', '/networks'), [], 5000);
  const [creating, setCreating] = useState(false);
  const [inspect, setInspect] = useState<string>();
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();

  const remove = async (n: Network) => {
    if (!confirm(`Remove network ${n.Name}?`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/networks/${encodeURIComponent(n.Id)}`);
      setNote(`Removed network ${n.Name}`);
    } catch (err) {
      setError(`Remove ${n.Name}: ${(err as Error).message}`);
    }
    list.reload();
  };
  const rows = [...(list.value ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  return (
    <>
      <ListHeader
        title="Networks"
        sub={list.value ? countOf(list.value.length, 'network') : ' '}
        action="+ Create network"
        onAction={() => setCreating(true)}
      />
      {creating && (
        <CreateNetwork
          onClose={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            setNote(`Created network ${name}`);
            list.reload();
          }}
        />
      )}
      {inspect && <InspectNetwork id={inspect} onClose={() => setInspect(undefined)} />}
      <Outcome note={note} onNoteClose={() => setNote(undefined)} error={error} onErrorClose={() => setError(undefined)} />
      <ListTable
        heads={['Name', 'Driver', 'Subnet', 'Labels', 'Created', { label: 'Actions', right: true }]}
        error={list.error && `Cannot list networks: ${list.error}`}
        loading={!list.value}
        empty={!rows.length && 'No networks.'}
      >
        {rows.map((n) => (
          <tr key={n.Id} data-name={n.Name}>
            <td>
              <button type="button" class="namelink" onClick={() => setInspect(n.Id)}>
                {n.Name}
              </button>
              <div class="mono dim">{shortId(n.Id)}</div>
            </td>
            <td>
              {n.Driver}
              {n.Internal && <span class="dim"> · internal</span>}
            </td>
            <td class="mono small">{subnets(n) || <span class="dim">—</span>}</td>
            <td>
              <Labels labels={n.Labels} />
            </td>
            <td class="dim nowrap">{n.Created ? ago(Date.parse(n.Created) / 1000) : '—'}</td>
            <td class="right nowrap">
              <button type="button" class="small" data-action="inspect" onClick={() => setInspect(n.Id)}>
                Inspect
              </button>
              <button type="button" class="small danger" data-action="remove" disabled={PREDEFINED.has(n.Name)} onClick={() => remove(n)}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
    </>
  );
}
