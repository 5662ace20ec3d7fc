/** Ports as docker prints them: the `ps` PORTS column (ranges grouped) and `-p` specs parsed. */
import { CliExit } from '../cli.js';

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

function comparePorts(a: ApiPort, b: ApiPort): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function formGroup(key: string, first: number, last: number): string {
  const i = key.lastIndexOf('/');
  const ip = i >= 0 ? key.slice(0, i) : '';
  const type = i >= 0 ? key.slice(i + 1) : key;
  let group = first === last ? String(first) : `${first}-${last}`;
  if (ip) group = `${ip}:${group}->${group}`;
  return `${group}/${type}`;
}

/** docker's DisplayablePorts. */
export function displayablePorts(ports: ApiPort[]): string {
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  for (const p of [...ports].sort(comparePorts)) {
    const cur = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== cur) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        mappings.push(`${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: cur, last: cur });
      continue;
    }
    if (cur === g.last + 1) {
      g.last = cur;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: cur, last: cur });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...mappings].join(', ');
}

function range(s: string, what: string, spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new CliExit(125, `invalid argument "${spec}" for "-p, --publish" flag: invalid ${what}: ${s}`);
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a < 1 || b > 65535 || b < a) throw new CliExit(125, `invalid argument "${spec}" for "-p, --publish" flag: invalid ${what}: ${s}`);
  return [a, b];
}

/** `-p` values → ExposedPorts and PortBindings, as docker's nat.ParsePortSpecs. */
export function parsePublish(specs: string[]): { exposed: Record<string, object>; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of specs) {
    let rest = spec;
    let proto = 'tcp';
    const slash = rest.lastIndexOf('/');
    if (slash >= 0) {
      proto = rest.slice(slash + 1).toLowerCase();
      rest = rest.slice(0, slash);
    }
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new CliExit(125, `invalid argument "${spec}" for "-p, --publish" flag: invalid proto: ${proto}`);
    let ip = '';
    let hostPart = '';
    let ctrPart: string;
    const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
    if (v6) {
      ip = v6[1]!;
      rest = v6[2]!;
    }
    const parts = rest.split(':');
    if (v6) {
      [hostPart, ctrPart] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
    } else if (parts.length === 1) ctrPart = parts[0]!;
    else if (parts.length === 2) [hostPart, ctrPart] = [parts[0]!, parts[1]!];
    else if (parts.length === 3) [ip, hostPart, ctrPart] = [parts[0]!, parts[1]!, parts[2]!];
    else throw new CliExit(125, `invalid argument "${spec}" for "-p, --publish" flag: invalid port format: ${spec}`);
    if (ip && !/^[\d.]+$/.test(ip) && !ip.includes(':'))
      throw new CliExit(125, `invalid argument "${spec}" for "-p, --publish" flag: invalid IP address: ${ip}`);
    const [c1, c2] = range(ctrPart, 'containerPort', spec);
    const host = hostPart ? range(hostPart, 'hostPort', spec) : undefined;
    const n = c2 - c1 + 1;
    if (host && host[1] - host[0] + 1 !== n && n !== 1)
      throw new CliExit(
        125,
        `invalid argument "${spec}" for "-p, --publish" flag: invalid ranges specified for container and host Ports: ${ctrPart} and ${hostPart}`,
      );
    for (let i = 0; i < n; i++) {
      const key = `${c1 + i}/${proto}`;
      let hostPort = '';
      if (host) hostPort = n === 1 && host[0] !== host[1] ? `${host[0]}-${host[1]}` : String(host[0] + i);
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
    }
  }
  return { exposed, bindings };
}
