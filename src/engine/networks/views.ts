/** Networks and container network settings as the Engine API shows them. */
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { BerthError, InvalidArgumentError } from '../../core/errors.js';
import type { Container } from '../containers/record.js';
import { sortedKeys } from '../../core/go-json.js';
import { ZERO_TIME } from '../../core/go-values.js';
import { emptyEndpointSettings } from '../../core/wire/endpoint-settings.js';
import type { NetworkRecord, RuntimeState } from './types.js';

/** What the views read of the network service: its networks, the containers, and each running one's network state. */
export interface NetworkViewSource {
  readonly containers: { list(): Container[] };
  list(): NetworkRecord[];
  tryGet(ref: string): NetworkRecord | undefined;
  runtimeOf(id: string): RuntimeState | undefined;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

export function networkView(svc: NetworkViewSource, n: NetworkRecord, withContainers = true): Record<string, unknown> {
  const { BridgeName: _b, BridgeCreated: _c, ...api } = n;
  const containers: Record<string, unknown> = {};
  if (withContainers) {
    for (const c of svc.containers.list()) {
      const ep = svc.runtimeOf(c.rec.Id)?.Endpoints.find((e) => e.NetworkID === n.Id);
      if (!ep) continue;
      containers[c.rec.Id] = {
        Name: c.rec.Name.slice(1),
        EndpointID: ep.EndpointID,
        MacAddress: ep.MacAddress,
        IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
        IPv6Address: ep.IPv6Address ? `${ep.IPv6Address}/${ep.IPv6PrefixLen}` : '',
      };
    }
  }
  return {
    ...api,
    Labels: sortedKeys(api.Labels),
    Options: sortedKeys(api.Options),
    IPAM: { ...api.IPAM, Config: api.IPAM.Config.map((c) => ({ ...c })) },
    Containers: containers,
  };
}

const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

/** A container holds a network while it has an endpoint there (it runs): dockerd's "in use" for dangling and prune. */
export function inUse(svc: NetworkViewSource, n: NetworkRecord): boolean {
  return svc.containers.list().some((c) => svc.runtimeOf(c.rec.Id)?.Endpoints.some((e) => e.NetworkID === n.Id));
}

export function listNetworks(svc: NetworkViewSource, f: Filters): Record<string, unknown>[] {
  checkFilterKeys(f, LIST_FILTERS);
  // dockerd's words and statuses (moby daemon/network/filter.go); an unknown type is a plain error there: 500.
  for (const t of f.type ?? []) if (t !== 'custom' && t !== 'builtin') throw new BerthError(`invalid filter: 'type'='${t}'`, 500);
  if ((f.dangling ?? []).length > 1) throw new InvalidArgumentError('got more than one value for filter key "dangling"');
  for (const d of f.dangling ?? [])
    if (!['true', 'false', '1', '0'].includes(d))
      throw new InvalidArgumentError('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  return svc
    .list()
    .filter((n) => matchNetwork(svc, n, f))
    .map((n) => networkView(svc, n, false));
}

/** Whether n passes list filters (already checked); `scope` alone also serves inspect's ?scope=. */
export function matchNetwork(svc: NetworkViewSource, n: NetworkRecord, f: Filters): boolean {
  if (f.driver?.length && !f.driver.includes(n.Driver)) return false;
  if (f.id?.length && !f.id.some((i) => n.Id.includes(i))) return false;
  if (f.name?.length && !f.name.some((x) => n.Name.includes(x))) return false;
  if (f.scope?.length && !f.scope.includes(n.Scope)) return false;
  if (!matchLabels(n.Labels, f.label)) return false;
  if (f.type?.length && !f.type.includes(PREDEFINED.has(n.Name) ? 'builtin' : 'custom')) return false;
  if (f.dangling?.length) {
    const want = f.dangling[0] === 'true' || f.dangling[0] === '1';
    if (want !== (!PREDEFINED.has(n.Name) && !inUse(svc, n))) return false;
  }
  return true;
}

/** NetworkSettings.Networks: every configured network; addresses while running. */
export function endpointsView(svc: NetworkViewSource, c: Container): Record<string, unknown> {
  const mode = c.rec.HostConfig.NetworkMode || 'default';
  if (mode.startsWith('container:')) return {};
  const configured = c.rec.Networks ?? {
    [mode === 'default' ? 'bridge' : mode]: { NetworkID: svc.tryGet(mode === 'default' ? 'bridge' : mode)?.Id ?? '', Aliases: null, IPAMConfig: null },
  };
  const rt = c.state.Running ? svc.runtimeOf(c.rec.Id) : undefined;
  // dockerd fills an endpoint's NetworkID in at the first start; a created container shows it empty.
  const started = c.state.StartedAt !== ZERO_TIME;
  const out: Record<string, unknown> = {};
  for (const [name, cfg] of Object.entries(configured)) {
    const ep = rt?.Endpoints.find((e) => e.NetworkID === cfg.NetworkID);
    const userNet = name !== 'bridge' && name !== 'host' && name !== 'none';
    out[name] = {
      ...emptyEndpointSettings(),
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: ('Links' in cfg && cfg.Links) || null,
      Aliases: cfg.Aliases ?? null,
      NetworkID: started ? cfg.NetworkID : '',
      DriverOpts: ('DriverOpts' in cfg && cfg.DriverOpts) || null,
      ...(ep
        ? {
            EndpointID: ep.EndpointID,
            Gateway: ep.Gateway,
            IPAddress: ep.IPAddress,
            IPPrefixLen: ep.IPPrefixLen,
            MacAddress: ep.MacAddress,
            IPv6Gateway: ep.IPv6Gateway ?? '',
            GlobalIPv6Address: ep.IPv6Address ?? '',
            GlobalIPv6PrefixLen: ep.IPv6PrefixLen ?? 0,
            DNSNames: userNet ? [c.rec.Name.slice(1), ...(cfg.Aliases ?? []), c.rec.Id.slice(0, 12)] : null,
          }
        : {}),
    };
  }
  return out;
}

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** The list entry's Ports: published bindings while running, and exposed ports. */
export function portsList(svc: NetworkViewSource, c: Container): ApiPort[] {
  const out: ApiPort[] = [];
  if (!c.state.Running) return out;
  const published = new Set<string>();
  const rt = c.state.Running ? svc.runtimeOf(c.rec.Id) : undefined;
  for (const p of rt?.Ports ?? []) {
    out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
    published.add(`${p.containerPort}/${p.protocol}`);
  }
  for (const key of Object.keys(c.rec.Config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!published.has(`${port}/${proto}`)) out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

/** Inspect's NetworkSettings.Ports: "80/tcp" → bindings (null for exposed only); empty while stopped. */
export function portsMap(svc: NetworkViewSource, c: Container): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  if (!c.state.Running) return {};
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const key of Object.keys(c.rec.Config.ExposedPorts ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of svc.runtimeOf(c.rec.Id)?.Ports ?? []) {
    const k = `${p.containerPort}/${p.protocol}`;
    (out[k] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return out;
}

/** The whole NetworkSettings of inspect; the top-level address fields are the default bridge's, as in Docker. */
export function networkSettings(svc: NetworkViewSource, c: Container): Record<string, unknown> {
  const rt = c.state.Running ? svc.runtimeOf(c.rec.Id) : undefined;
  const bridge = rt?.Endpoints.find((e) => e.NetworkName === 'bridge');
  return {
    Bridge: '',
    SandboxID: rt ? c.rec.Id : '',
    SandboxKey: rt?.Netns ?? (c.state.Pid ? `/proc/${c.state.Pid}/ns/net` : ''),
    Ports: portsMap(svc, c),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: bridge?.IPv6Address ?? '',
    GlobalIPv6PrefixLen: bridge?.IPv6PrefixLen ?? 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: bridge?.IPv6Gateway ?? '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: endpointsView(svc, c),
  };
}
