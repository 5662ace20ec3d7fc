/** The /etc files Docker manages in every container: hostname, hosts, resolv.conf. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from '../../core/atomic.js';
import type { OciMount } from '../../runtime/spec/types.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { NetAttachment } from './networking.js';

/** The host's resolv.conf without loopback resolvers a container cannot reach, as Docker filters it. */
export async function containerResolvConf(h: HostConfig, hostNetwork: boolean, net?: NetAttachment): Promise<string> {
  let host = '';
  try {
    host = await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    /* no resolver configured */
  }
  const lines = host.split('\n').filter((l) => l.trim() !== '');
  let servers = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]!);
  let search = lines.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  let options = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  if (!hostNetwork) servers = servers.filter((s) => !s.startsWith('127.') && s !== '::1');
  if (!hostNetwork && servers.length === 0) servers = ['8.8.8.8', '8.8.4.4'];
  if (h.Dns?.length) servers = h.Dns;
  if (h.DnsSearch?.length) search = h.DnsSearch;
  if (h.DnsOptions?.length) options = h.DnsOptions;
  // On user-defined networks the embedded DNS stays the nameserver, --dns or not: it answers container
  // names and forwards the rest to the --dns servers (or the host's), as dockerd's resolver does. Its
  // options (ndots:0) come after the user's, unless the user set them.
  if (net?.nameservers?.length) {
    servers = net.nameservers;
    const own = (net.dnsOptions ?? []).filter((o) => !options.some((u) => u.split(':')[0] === o.split(':')[0]));
    options = [...options, ...own];
  }
  let out = '';
  for (const s of servers) out += `nameserver ${s}\n`;
  if (search.length) out += `search ${search.join(' ')}\n`;
  if (options.length) out += `options ${options.join(' ')}\n`;
  return out;
}

/** `--add-host name:host-gateway` names the host's address on the default bridge, as dockerd resolves it. */
export function resolveHostGateway(extra: string[] | null | undefined, gateway: () => string | undefined): string[] | null {
  if (!extra?.some((e) => e.endsWith(':host-gateway'))) return extra ?? null;
  const gw = gateway();
  return extra.map((e) => (gw && e.endsWith(':host-gateway') ? `${e.slice(0, e.lastIndexOf(':'))}:${gw}` : e));
}

/** The bind mounts of the /etc files in a container's dir (another container joining its network shares them). */
export function etcMountsOf(dir: string): OciMount[] {
  return ['hostname', 'hosts', 'resolv.conf'].map((name) => ({
    destination: `/etc/${name}`,
    type: 'bind',
    source: join(dir, name),
    options: ['rbind', 'rprivate'],
  }));
}

/**
 * The names on a container's own /etc/hosts line, as libnetwork writes them:
 * the fully qualified name (hostname.domainname, or a hostname with a dot),
 * then the short name before its first dot.
 */
export function hostsNames(hostname: string, domain = ''): string {
  const fqdn = domain ? `${hostname}.${domain}` : hostname;
  const dot = fqdn.indexOf('.');
  return dot > 0 ? `${fqdn} ${fqdn.slice(0, dot)}` : fqdn;
}

export function containerHosts(hostname: string, h: HostConfig, addresses: string[] = [], links: string[] = [], domain = ''): string {
  let out =
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
  for (const e of h.ExtraHosts ?? []) {
    const i = e.indexOf(':');
    if (i > 0) out += `${e.slice(i + 1)}\t${e.slice(0, i)}\n`;
  }
  for (const l of links) out += `${l}\n`;
  for (const l of ownHostsLines(hostsNames(hostname, domain), addresses)) out += `${l}\n`;
  return out;
}

/** Docker names the container's own addresses; with no network, loopback. */
function ownHostsLines(names: string, addresses: string[]): string[] {
  return addresses.length ? addresses.map((a) => `${a}\t${names}`) : [`127.0.1.1\t${names}`];
}

/**
 * Write the three files into the container's dir and return the bind mounts
 * for them. `inPlace` rewrites the same files (not new ones renamed over
 * them), for a container whose runtime has bind-mounted them already.
 * `links` are /etc/hosts lines for legacy links.
 */
export async function writeEtcFiles(
  dir: string,
  hostname: string,
  domain: string,
  h: HostConfig,
  hostNetwork: boolean,
  net?: NetAttachment,
  inPlace = false,
  links: string[] = [],
): Promise<OciMount[]> {
  const files: Array<[string, string]> = [
    ['hostname', `${hostname}${domain ? '' : ''}\n`],
    [
      'hosts',
      hostNetwork ? await readFile('/etc/hosts', 'utf8').catch(() => containerHosts(hostname, h)) : containerHosts(hostname, h, net?.addresses, links, domain),
    ],
    ['resolv.conf', await containerResolvConf(h, hostNetwork, net)],
  ];
  // Made anew at every start, so not synced.
  await Promise.all(files.map(([name, content]) => (inPlace ? writeFile : replaceFile)(join(dir, name), content)));
  return etcMountsOf(dir);
}

/**
 * A running container's /etc/hosts after `network connect` or `disconnect`:
 * its own lines (address, hostname) become one per current address, as
 * Docker adds and drops them; every other line stays. Rewritten in place,
 * since the runtime has bind-mounted the file.
 */
export async function rewriteOwnHosts(dir: string, hostname: string, domain: string, addresses: string[]): Promise<void> {
  const path = join(dir, 'hosts');
  const names = hostsNames(hostname, domain);
  const own = (l: string) => {
    const f = l.trim().split(/\s+/);
    return f.length >= 2 && f.slice(1).join(' ') === names;
  };
  const kept = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '' && !own(l));
  await writeFile(path, [...kept, ...ownHostsLines(names, addresses)].join('\n') + '\n');
}
