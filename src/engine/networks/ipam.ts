/**
 * Address configuration of networks, read off a NetworkRecord: Berth's default
 * pools, a network's IPv4 and IPv6 configs and gateways, moby's validation of
 * the IPAM config given at create, and the host's routes that automatic
 * subnets keep clear of. No state: records, endpoints and DNS all use it.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { run } from '../../core/proc.js';
import { contains6, firstHost6, formatIp6, formatSubnet6, overlaps6, parseCidr6, parseIp6 } from '../../network/ipnet6.js';
import { contains, firstHost, formatIp, formatSubnet, overlaps, parseCidr, parseIp, subnetOf, type AddressPool, type Subnet } from '../../network/ipnet.js';
import type { IpamConfig, NetworkRecord } from './types.js';

/** Our own pools, clear of docker0's 172.17/16 and the 172.18+ networks dockerd hands out first. */
export const DEFAULT_POOLS: AddressPool[] = [
  { base: '172.30.0.0/16', size: 16 },
  { base: '172.31.0.0/16', size: 16 },
  { base: '10.210.0.0/16', size: 24 },
];

/** Routes the host already has (to keep automatic subnets clear of them), except through our own bridges. */
export async function hostRoutes(ownBridges: string[]): Promise<Subnet[]> {
  const r = await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all']);
  if (r.code !== 0) return [];
  try {
    const routes = JSON.parse(r.stdout) as Array<{ dst: string; dev?: string; type?: string }>;
    return routes
      .filter((x) => x.dst && x.dst !== 'default' && !ownBridges.includes(x.dev ?? '') && (x.type ?? 'unicast') === 'unicast' && !x.dst.startsWith('127.'))
      .map((x) => parseCidr(x.dst.includes('/') ? x.dst : `${x.dst}/32`)?.subnet)
      .filter((s): s is Subnet => !!s && s.bits > 0);
  } catch {
    return [];
  }
}

/** The network's IPv4 and IPv6 configs (the v4 one comes first in what Berth records). */
export function v4Config(n: NetworkRecord): IpamConfig | undefined {
  return n.IPAM.Config.find((c) => c.Subnet && !c.Subnet.includes(':'));
}
export function v6Config(n: NetworkRecord): IpamConfig | undefined {
  return n.EnableIPv6 ? n.IPAM.Config.find((c) => c.Subnet?.includes(':')) : undefined;
}

/** The gateway given at create, or Docker's default: the subnet's first address. */
export function gateway4(n: NetworkRecord): string {
  const c = v4Config(n)!;
  return c.Gateway || formatIp(firstHost(subnetOf(c.Subnet!)));
}

export function gateway6(n: NetworkRecord): string | undefined {
  const c = v6Config(n);
  if (!c) return undefined;
  return c.Gateway || formatIp6(firstHost6(parseCidr6(c.Subnet!)!.subnet));
}

/**
 * The IPAM config as moby's ValidateIPAM (API 1.44+, unversioned) checks it,
 * in its words: every fault found, one per line. v6 configs count only on an
 * IPv6 network.
 */
export function validateIpam(configs: IpamConfig[], enableV6: boolean): void {
  const errs: string[] = [];
  for (const c of configs) {
    const sub = c.Subnet ?? '';
    const v6 = sub.includes(':');
    const p4 = v6 ? undefined : parseCidr(sub);
    const p6 = v6 ? parseCidr6(sub) : undefined;
    if (!p4 && !p6) {
      errs.push(`invalid subnet ${sub}: invalid CIDR block notation`);
      continue;
    }
    if (v6 && !enableV6) continue;
    const fam = v6 ? 'IPv6' : 'IPv4';
    const masked = p4 ? formatSubnet(p4.subnet) : formatSubnet6(p6!.subnet);
    const norm = p4 ? `${formatIp(p4.ip)}/${p4.subnet.bits}` : `${formatIp6(p6!.ip)}/${p6!.subnet.bits}`;
    if (norm !== masked) errs.push(`invalid subnet ${norm}: it should be ${masked}`);
    const inside = (a: string): string | undefined => {
      const isV6 = a.includes(':');
      if (isV6 ? parseIp6(a) === undefined : parseIp(a) === undefined) return 'invalid address';
      if (isV6 !== v6) return `parent subnet is an ${fam} block`;
      const ok = p4 ? contains(p4.subnet, parseIp(a)!) : contains6(p6!.subnet, parseIp6(a)!);
      return ok ? undefined : `parent subnet ${masked} doesn't contain this address`;
    };
    if (c.IPRange) {
      const r4 = v6 ? undefined : parseCidr(c.IPRange);
      const r6 = c.IPRange.includes(':') ? parseCidr6(c.IPRange) : undefined;
      if (!r4 && !r6) errs.push(`invalid ip-range ${c.IPRange}: invalid CIDR block notation`);
      else if (!!r6 !== v6) errs.push(`invalid ip-range ${c.IPRange}: parent subnet is an ${fam} block`);
      else {
        const rBits = r4 ? r4.subnet.bits : r6!.subnet.bits;
        const sBits = p4 ? p4.subnet.bits : p6!.subnet.bits;
        if (rBits < sBits) errs.push(`invalid ip-range ${c.IPRange}: CIDR block is bigger than its parent subnet ${masked}`);
        const rNorm = r4 ? `${formatIp(r4.ip)}/${rBits}` : `${formatIp6(r6!.ip)}/${rBits}`;
        const rMasked = r4 ? formatSubnet(r4.subnet) : formatSubnet6(r6!.subnet);
        if (rNorm !== rMasked) errs.push(`invalid ip-range ${rNorm}: it should be ${rMasked}`);
        const over = r4 ? overlaps(r4.subnet, p4!.subnet) : overlaps6(r6!.subnet, p6!.subnet);
        if (!over) errs.push(`invalid ip-range ${c.IPRange}: parent subnet ${masked} doesn't contain ip-range`);
      }
    }
    if (c.Gateway) {
      const e = inside(c.Gateway);
      if (e) errs.push(`invalid gateway ${c.Gateway}: ${e}`);
    }
    for (const [k, a] of Object.entries(c.AuxiliaryAddresses ?? {})) {
      const e = inside(a);
      if (e) errs.push(`invalid auxiliary address ${k}: ${e}`);
    }
  }
  if (!errs.length) return;
  throw new InvalidArgumentError(`invalid network config:\n${errs.length === 1 ? errs[0] : '* ' + errs.join('\n* ')}`);
}
