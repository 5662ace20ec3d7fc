/**
 * The create form: image, name, command, env, ports, volumes, network,
 * restart policy, memory and CPU limits → `POST /containers/create`, then
 * `POST /containers/{id}/start`. Fields are parsed as the docker CLI's
 * flags are (-p, -v, -e, --restart, -m, --cpus); a mistake is named before
 * anything is sent.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Notice, useLoad } from '../ui.js';

/** A command line split as a shell would, for quotes and backslashes (no expansion). */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (quote) throw new Error('command: unterminated quote');
  if (has || cur) out.push(cur);
  return out;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function memory(s: string): number | undefined {
  if (!s.trim()) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`memory: invalid size ${JSON.stringify(s)} (e.g. 256m, 1g)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The Engine API body for the form's values. */
export function createBody(f: Record<string, string>): { name: string; body: Record<string, unknown> } {
  if (!f.image?.trim()) throw new Error('image: required');
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of lines(f.ports ?? '')) {
    const m = /^(?:(?:(\[[^\]]+\]|[\d.]+):)?(\d*):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(p);
    if (!m) throw new Error(`ports: ${JSON.stringify(p)} is not [IP:][HOST:]CONTAINER[/PROTO]`);
    const key = `${m[3]}/${m[4] ?? 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: (m[1] ?? '').replace(/^\[|\]$/g, ''), HostPort: m[2] ?? '' });
  }
  const binds = lines(f.volumes ?? '');
  for (const v of binds) if (!/^[^:]+:\/[^:]*(:(ro|rw|z|Z|ro,z|ro,Z))?$/.test(v)) throw new Error(`volumes: ${JSON.stringify(v)} is not SOURCE:/PATH[:ro]`);
  const env = lines(f.env ?? '');
  for (const e of env) if (e.startsWith('=')) throw new Error(`env: ${JSON.stringify(e)} has no name`);
  const [policy, retries] = (f.restart || 'no').split(':');
  const cpus = f.cpus?.trim() ? Number(f.cpus) : undefined;
  if (cpus !== undefined && !(cpus > 0)) throw new Error(`cpus: ${JSON.stringify(f.cpus)} is not a positive number`);
  const cmd = f.command?.trim() ? splitCommand(f.command) : undefined;
  const name = f.name?.trim() ?? '';
  if (name && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw new Error(`name: ${JSON.stringify(name)} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+`);
  return {
    name,
    body: {
      Image: f.image.trim(),
      ...(cmd ? { Cmd: cmd } : {}),
      Env: env,
      ExposedPorts: exposed,
      Tty: f.tty === 'on',
      OpenStdin: f.tty === 'on',
      HostConfig: {
        PortBindings: bindings,
        Binds: binds,
        ...(f.network ? { NetworkMode: f.network } : {}),
        RestartPolicy: { Name: policy, ...(policy === 'on-failure' && retries ? { MaximumRetryCount: Number(retries) } : {}) },
        ...(memory(f.memory ?? '') ? { Memory: memory(f.memory ?? '') } : {}),
        ...(cpus ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
      },
    },
  };
}

export function CreateContainer(p: { onClose: () => void; onCreated: (id: string) => void }): JSX.Element {
  const images = useLoad(() => api<{ RepoTags: string[] | null }[]>('GET', '/images/json'), []);
  const networks = useLoad(() => api<{ Name: string }[]>('GET', '/networks'), []);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && p.onClose();
    document.addEventListener('keydown', esc);
    return () => document.removeEventListener('keydown', esc);
  }, [p.onClose]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
    setError(undefined);
    let req;
    try {
      req = createBody(data);
    } catch (err) {
      return setError((err as Error).message);
    }
    setBusy(true);
    try {
      const made = await api<{ Id: string }>('POST', `/containers/create${req.name ? `?name=${encodeURIComponent(req.name)}` : ''}`, req.body);
      if (data.start === 'on') await api('POST', `/containers/${made.Id}/start`);
      p.onCreated(made.Id);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  const tags = (images.value ?? []).flatMap((i) => i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  return (
    <div class="drawer-back">
      <form class="drawer" onSubmit={submit} aria-label="Create container">
        <header>
          <h2>Create a container</h2>
          <button type="button" class="link" onClick={p.onClose} aria-label="Close">
            ×
          </button>
        </header>
        <div class="drawer-body">
          {error && <Notice kind="error">{error}</Notice>}
          <div class="grid2">
            <label>
              Image
              <input name="image" list="image-tags" placeholder="busybox:latest" required />
              <datalist id="image-tags">
                {tags.map((t) => (
                  <option value={t} key={t} />
                ))}
              </datalist>
            </label>
            <label>
              Name <span class="dim">(optional)</span>
              <input name="name" placeholder="web-1" />
            </label>
          </div>
          <label>
            Command <span class="dim">(optional, replaces the image's)</span>
            <input name="command" class="mono" placeholder="sh -c 'echo hello; sleep 3600'" />
          </label>
          <div class="grid2">
            <label>
              Environment <span class="dim">(KEY=value, one a line)</span>
              <textarea name="env" rows={3} class="mono" />
            </label>
            <label>
              Ports <span class="dim">(8080:80, one a line)</span>
              <textarea name="ports" rows={3} class="mono" />
            </label>
          </div>
          <label>
            Volumes <span class="dim">(/host/path:/path or volume:/path[:ro], one a line)</span>
            <textarea name="volumes" rows={2} class="mono" />
          </label>
          <div class="grid3">
            <label>
              Network
              <select name="network">
                <option value="">default</option>
                {(networks.value ?? []).map((n) => (
                  <option value={n.Name} key={n.Name}>
                    {n.Name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Restart policy
              <select name="restart">
                <option value="no">no</option>
                <option value="on-failure">on-failure</option>
                <option value="unless-stopped">unless-stopped</option>
                <option value="always">always</option>
              </select>
            </label>
            <label>
              Memory limit
              <input name="memory" placeholder="256m" />
            </label>
          </div>
          <div class="grid3">
            <label>
              CPUs
              <input name="cpus" placeholder="0.5" inputMode="decimal" />
            </label>
            <label class="check">
              <input type="checkbox" name="tty" /> Allocate a TTY
            </label>
            <label class="check">
              <input type="checkbox" name="start" defaultChecked /> Start after creating
            </label>
          </div>
        </div>
        <footer>
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </footer>
      </form>
    </div>
  );
}
