/**
 * A container's endpoints as configured (not yet live): the networks a create
 * request asks for, checked with Docker's rules for network modes, --ip,
 * --alias, --mac-address and links, into the EndpointConfig records the
 * container keeps. Attach and connect make them live.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { contains, parseIp, subnetOf } from '../../network/ipnet.js';
import { parseLinks } from '../containers/links.js';
import type { Container, EndpointConfig } from '../containers/record.js';
import type { ContainerService } from '../containers/service.js';
import type { NetworkRecord } from './types.js';

/** What planning a container's endpoints needs of the network service. */
export interface EndpointsHost {
  readonly containers: Pick<ContainerService, 'get'>;
  get(ref: string): NetworkRecord;
  tryGet(ref: string): NetworkRecord | undefined;
}

/** The primary network's name for a NetworkMode ("default" is the bridge). */
export function modeNetwork(mode: string): string {
  return mode === 'default' || mode === '' ? 'bridge' : mode;
}

export function planEndpoints(svc: EndpointsHost, h: HostConfig, networking: unknown, macFromConfig?: string): Record<string, EndpointConfig> {
  const mode = h.NetworkMode || 'default';
  const wantsMac =
    !!macFromConfig ||
    Object.values((networking as { EndpointsConfig?: Record<string, { MacAddress?: string } | null> } | null)?.EndpointsConfig ?? {}).some(
      (e) => e?.MacAddress,
    );
  if (wantsMac && (mode === 'host' || mode === 'none' || mode.startsWith('container:')))
    throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
  if (mode.startsWith('container:')) {
    if (h.PortBindings && Object.keys(h.PortBindings).length)
      throw new InvalidArgumentError('conflicting options: port publishing and the container type network mode');
    svc.containers.get(mode.slice(10));
    return {};
  }
  // As dockerd: an unknown network is not a create error (the docker CLI would take a 404 for a missing
  // image and pull); the start fails with "failed to set up container networking: network X not found".
  const primary = svc.tryGet(modeNetwork(mode));
  if (!primary) return { [modeNetwork(mode)]: { NetworkID: '', Aliases: null, IPAMConfig: null, Links: null, MacAddress: '', DriverOpts: null } };
  const wanted = (networking as { EndpointsConfig?: Record<string, Partial<EndpointConfig> | null> } | null)?.EndpointsConfig ?? {};
  const out: Record<string, EndpointConfig> = {};
  // Links on a user-defined network are names its DNS gives the linking container: "target:alias".
  const dnsLinks = (links: string[] | null | undefined) =>
    parseLinks(links, (r) => svc.containers.get(r)).map((l) => `${l.target.rec.Name.slice(1)}:${l.alias}`);
  const add = (n: NetworkRecord, cfg: Partial<EndpointConfig> | null | undefined, extraLinks: string[] = []) => {
    checkEndpoint(n, cfg ?? {});
    const links = n.Name === 'bridge' ? [] : [...new Set([...dnsLinks(cfg?.Links), ...extraLinks])]; // the docker CLI sends them in both places
    out[n.Name] = {
      NetworkID: n.Id,
      Aliases: cfg?.Aliases?.length ? [...cfg.Aliases] : null,
      IPAMConfig: ipamConfigOf(cfg),
      Links: links.length ? links : null,
      MacAddress: macAddress(n, cfg?.MacAddress),
      DriverOpts: driverOptsOf(cfg),
    };
  };
  const primaryCfg = wanted[mode] ?? wanted[primary.Name] ?? wanted[primary.Id] ?? (mode === 'default' ? wanted.bridge : undefined);
  // Clients before API 1.44 send --mac-address as Config.MacAddress: it belongs to the primary network.
  add(
    primary,
    macFromConfig ? { ...primaryCfg, MacAddress: primaryCfg?.MacAddress || macFromConfig } : primaryCfg,
    primary.Name === 'bridge' || primary.Driver !== 'bridge' ? [] : dnsLinks(h.Links),
  );
  for (const [ref, cfg] of Object.entries(wanted)) {
    const n = svc.get(modeNetwork(ref));
    if (n.Id === primary.Id) continue;
    if (primary.Driver !== 'bridge' || n.Driver !== 'bridge') throw new InvalidArgumentError('Container cannot be connected to network endpoints');
    add(n, cfg);
  }
  if (primary.Driver === 'host' && h.PortBindings && Object.keys(h.PortBindings).length) {
    /* Docker ignores them, with a warning */
  }
  return out;
}

/** Docker's rules for --ip and --alias. */
export function checkEndpoint(n: NetworkRecord, cfg: Partial<EndpointConfig>): void {
  const isDefault = n.Name === 'bridge';
  if (cfg.Aliases?.length && (isDefault || n.Driver !== 'bridge'))
    throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
  const ip = cfg.IPAMConfig?.IPv4Address;
  if (!ip) return;
  if (isDefault || n.Driver !== 'bridge') throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
  const addr = parseIp(ip);
  const s = subnetOf(n.IPAM.Config[0]!.Subnet!);
  if (addr === undefined) throw new InvalidArgumentError(`invalid IPv4 address: ${ip}`);
  if (!contains(s, addr)) throw new InvalidArgumentError(`no configured subnet or ip-range contain the IP address ${ip}`);
}

/** The endpoints a container recorded; planned now for one made before they were recorded. */
export function endpointsOf(svc: EndpointsHost, c: Container): Record<string, EndpointConfig> {
  return c.rec.Networks ?? planEndpoints(svc, c.rec.HostConfig, null);
}

/** EndpointSettings.DriverOpts as given (kept, and shown by inspect as dockerd does); null for none. */
export function driverOptsOf(cfg: Partial<EndpointConfig> | null | undefined): Record<string, string> | null {
  const o = cfg?.DriverOpts;
  return o && typeof o === 'object' && Object.keys(o).length ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) : null;
}

/** The static addresses asked for (--ip, --ip6). */
export function ipamConfigOf(cfg: Partial<EndpointConfig> | null | undefined): EndpointConfig['IPAMConfig'] {
  const v4 = cfg?.IPAMConfig?.IPv4Address;
  const v6 = cfg?.IPAMConfig?.IPv6Address;
  return v4 || v6 ? { ...(v4 ? { IPv4Address: v4 } : {}), ...(v6 ? { IPv6Address: v6 } : {}) } : null;
}

/** A requested MAC address, checked as dockerd does; '' for none. */
function macAddress(n: NetworkRecord, mac: string | undefined): string {
  if (!mac) return '';
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(mac)) throw new InvalidArgumentError(`invalid MAC address: ${mac}`);
  if (n.Driver !== 'bridge') throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
  return mac.toLowerCase().replace(/-/g, ':');
}
