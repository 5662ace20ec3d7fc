/**
 * IPv4 subnets: parsing "a.b.c.d/n", containment and overlap, and carving
 * the next free subnet out of address pools (Docker's default-address-pools).
 */
import { InvalidArgumentError } from '../core/errors.js';

export interface Subnet {
  base: number;
  bits: number;
}

export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** "172.30.0.0/16" → subnet; the address is kept as given (for "--bip 172.30.0.1/16"). */
export function parseCidr(s: string): { ip: number; subnet: Subnet } | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) return undefined;
  const ip = parseIp(m[1]!);
  const bits = Number(m[2]);
  if (ip === undefined || bits > 32) return undefined;
  return { ip, subnet: { base: (ip & mask(bits)) >>> 0, bits } };
}

export function subnetOf(s: string, what = 'subnet'): Subnet {
  const c = parseCidr(s);
  if (!c) throw new InvalidArgumentError(`invalid ${what} ${s}: invalid CIDR address: ${s}`);
  return c.subnet;
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.bits}`;
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.bits)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(bits)) >>> 0 === (b.base & mask(bits)) >>> 0;
}

export function lastIp(s: Subnet): number {
  return (s.base | (~mask(s.bits) >>> 0)) >>> 0;
}

/** The first usable address (Docker's default gateway). */
export function firstHost(s: Subnet): number {
  return s.bits >= 31 ? s.base : s.base + 1;
}

export interface AddressPool {
  base: string;
  size: number;
}

/** Docker's shape: pools are split into subnets of `size` bits; the first that overlaps nothing taken wins. */
export function nextFreeSubnet(pools: AddressPool[], taken: Subnet[]): Subnet | undefined {
  for (const p of pools) {
    const base = subnetOf(p.base, 'address pool');
    if (p.size < base.bits || p.size > 32) continue;
    const step = 2 ** (32 - p.size);
    const count = 2 ** (p.size - base.bits);
    for (let i = 0; i < count; i++) {
      const cand: Subnet = { base: (base.base + i * step) >>> 0, bits: p.size };
      if (!taken.some((t) => overlaps(t, cand))) return cand;
    }
  }
  return undefined;
}
