/**
 * Who may reach berthd's API, decided before anything listens: the hosts
 * (`-H unix://…`, `tcp://…`, `fd://`), TLS on TCP, and the unix socket's
 * group. Kept apart from listeners.ts so the rules (dockerd's, read from its
 * `cmd/dockerd` options) are plain data and checked in one place:
 *
 * - `--tlsverify` (either value) turns TLS on; `--tls` alone means TLS *with*
 *   client verification, because dockerd sets tlsverify to tls when only tls
 *   is given. TLS without client verification is `--tlsverify=false`.
 * - A TCP listener without client verification is refused at start unless
 *   the user opted out in so many words (`--tls=false` or `--tlsverify=false`,
 *   or the same keys in daemon.json). dockerd 27 still only warns and sleeps
 *   for non-loopback addresses; Berth refuses on every address, loopback
 *   included, since a browser's scripts reach 127.0.0.1 too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The access settings as the flags and daemon.json gave them (undefined: not said). */
export interface ApiAccess {
  tls?: boolean;
  tlsVerify?: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The unix socket's group: a name or a gid; undefined means "docker" if it exists. */
  group?: string;
}

export type Host = { proto: 'unix'; path: string } | { proto: 'tcp'; host: string; port: number } | { proto: 'fd'; fd?: number };

export const DEFAULT_SOCKET = '/run/berth/berth.sock';
export const DEFAULT_GROUP = 'docker';

function optBool(key: string, v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`invalid ${key}: ${JSON.stringify(v)}: true or false is expected`);
  return v;
}

function optString(key: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`invalid ${key}: ${JSON.stringify(v)}: a string is expected`);
  return v;
}

/** `value(flag)`: the flag's value if given, else daemon.json's key for it, else undefined. */
export function accessSettings(value: (flag: string) => unknown): ApiAccess {
  // As dockerd: certificates default to $DOCKER_CERT_PATH, else ~/.docker.
  const certDir = process.env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  return {
    tls: optBool('tls', value('tls')),
    tlsVerify: optBool('tlsverify', value('tlsverify')),
    caFile: optString('tlscacert', value('tlscacert')) ?? join(certDir, 'ca.pem'),
    certFile: optString('tlscert', value('tlscert')) ?? join(certDir, 'cert.pem'),
    keyFile: optString('tlskey', value('tlskey')) ?? join(certDir, 'key.pem'),
    group: optString('group', value('group')),
  };
}

/** TLS as it applies: off, on without client certificates, or on requiring a certificate from the CA. */
export function tlsMode(a: ApiAccess): 'off' | 'tls' | 'verify' {
  const on = a.tls === true || a.tlsVerify !== undefined;
  if (!on) return 'off';
  return a.tlsVerify === false ? 'tls' : 'verify';
}

/** A `-H` value, in dockerd's forms: unix:///path, tcp://ADDR:PORT, fd://[N]; a bare /path is a unix socket, a bare ADDR:PORT is TCP. */
export function parseHost(raw: string, tls: boolean): Host {
  const v = raw.trim();
  if (v.startsWith('/')) return { proto: 'unix', path: v };
  const sep = v.indexOf('://');
  const [proto, addr] = sep === -1 ? ['tcp', v] : [v.slice(0, sep), v.slice(sep + 3)];
  if (proto === 'unix') return { proto: 'unix', path: addr || DEFAULT_SOCKET };
  if (proto === 'fd') {
    if (addr === '' || addr === '*') return { proto: 'fd' };
    if (!/^\d+$/.test(addr)) throw new Error(`failed to parse systemd fd address: should be a number: ${addr}`);
    return { proto: 'fd', fd: Number(addr) };
  }
  if (proto === 'tcp') {
    const m = /^(\[[0-9a-fA-F:.]*\]|[^:/[\]]*)(?::(\d*))?\/?$/.exec(addr);
    if (!m) throw new Error(`Invalid bind address format: ${raw}`);
    const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
    const port = m[2] ? Number(m[2]) : tls ? 2376 : 2375;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Invalid bind address format: ${raw}`);
    return { proto: 'tcp', host, port };
  }
  throw new Error(`Invalid bind address format: ${raw}`);
}

export function hostString(h: Host): string {
  if (h.proto === 'unix') return `unix://${h.path}`;
  if (h.proto === 'fd') return `fd://${h.fd ?? ''}`;
  return `tcp://${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
}

/**
 * The hosts to listen on, refusing what would hand root to the network:
 * TCP without client certificates unless the user opted out explicitly.
 * Returns the warnings to log for what is allowed but unsafe.
 */
export function checkHosts(rawHosts: string[], a: ApiAccess): { hosts: Host[]; warnings: string[] } {
  const mode = tlsMode(a);
  const hosts = (rawHosts.length ? rawHosts : [`unix://${DEFAULT_SOCKET}`]).map((h) => parseHost(h, mode !== 'off'));
  const warnings: string[] = [];
  for (const h of hosts) {
    if (h.proto !== 'tcp' || mode === 'verify') continue;
    const where = hostString(h);
    const optedOut = a.tls === false || a.tlsVerify === false;
    if (!optedOut) {
      throw new Error(
        `refusing to listen on ${where}: Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. ` +
          `Use --tlsverify with --tlscacert, --tlscert and --tlskey, or override this by explicitly specifying '--tls=false' or '--tlsverify=false'`,
      );
    }
    warnings.push(
      `Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host="${where}"`,
      `Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there! host="${where}"`,
    );
    if (mode === 'off')
      warnings.push(
        `API is accessible on http://${where.slice('tcp://'.length)} without encryption. Access to the remote API is equivalent to root access on the host.`,
      );
  }
  if (mode !== 'off') {
    for (const [what, file] of [['certificate', a.certFile], ['key', a.keyFile], ...(mode === 'verify' ? [['CA certificate', a.caFile]] : [])] as const) {
      if (!existsSync(file)) throw new Error(`invalid TLS configuration: could not read ${what} ${JSON.stringify(file)}: no such file or directory`);
    }
  }
  return { hosts, warnings };
}

/** The unix socket's gid, as dockerd picks it: the named group (or a number); "docker" only if it exists, else our own group. */
export function socketGid(group: string | undefined, socketPath: string): { gid: number; warning?: string } {
  const name = group ?? DEFAULT_GROUP;
  if (name === '') return { gid: process.getgid?.() ?? 0 };
  const gid = lookupGroup(name);
  if (gid !== undefined) return { gid };
  if (name !== DEFAULT_GROUP) throw new Error(`group ${name} not found`);
  return { gid: process.getgid?.() ?? 0, warning: `could not change group ${socketPath} to ${DEFAULT_GROUP}: group ${DEFAULT_GROUP} not found` };
}

function lookupGroup(name: string): number | undefined {
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    /* no group database: only numbers resolve */
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return /^\d+$/.test(name) ? Number(name) : undefined;
}
