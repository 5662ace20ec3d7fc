/**
 * IPv6 subnets, as ipnet.ts does IPv4: parsing "fd02:ab::/64" (addresses as
 * bigints), containment, overlap and the first host, for networks created
 * with --ipv6 and a v6 --subnet.
 */
import { isIPv6 } from 'node:net';

export interface Subnet6 {
  base: bigint;
  bits: number;
}

const ALL = (1n << 128n) - 1n;

export function parseIp6(s: string): bigint | undefined {
  const t = s.trim();
  if (!isIPv6(t) || t.includes('.')) return undefined; // v4-in-v6 notation is not something a network is made of
  const [head, tail] = t.includes('::') ? (t.split('::') as [string, string]) : [t, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text: lower case, the longest run of zero groups (two or more) as "::". */
export function formatIp6(n: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function mask6(bits: number): bigint {
  return bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
}

/** "fd02:ab::/64" → the address as given and its subnet. */
export function parseCidr6(s: string): { ip: bigint; subnet: Subnet6 } | undefined {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const ip = parseIp6(m[1]!);
  const bits = Number(m[2]);
  if (ip === undefined || bits > 128) return undefined;
  return { ip, subnet: { base: ip & mask6(bits), bits } };
}

export function formatSubnet6(s: Subnet6): string {
  return `${formatIp6(s.base)}/${s.bits}`;
}

export function contains6(s: Subnet6, ip: bigint): boolean {
  return (ip & mask6(s.bits)) === s.base;
}

export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  const m = mask6(Math.min(a.bits, b.bits));
  return (a.base & m) === (b.base & m);
}

/** The first address after the subnet's own (Docker's default v6 gateway). */
export function firstHost6(s: Subnet6): bigint {
  return s.bits >= 127 ? s.base : s.base + 1n;
}

export function lastIp6(s: Subnet6): bigint {
  return s.base | (~mask6(s.bits) & ALL);
}
