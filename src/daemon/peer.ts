/**
 * Who connected: the listeners call `identify` once per accepted connection
 * and the identity stays with the socket (engine/audit/identity.ts). On a
 * unix socket the kernel's SO_PEERCRED (uid, gid, pid at connect time) and
 * SO_PEERGROUPS (the supplementary groups), read with getsockopt through
 * koffi since Node has no getsockopt; names come from /etc/passwd and
 * /etc/group. koffi is loaded on the first unix connection, not at start.
 * On TLS: the client certificate's subject CN and SHA-256 fingerprint.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { log } from '../core/log.js';
import { type Identity, setIdentity } from '../engine/audit/identity.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
const MAX_GROUPS = 256;

type GetSockOpt = (fd: number, level: number, name: number, buf: Buffer, len: number[]) => number;
let getsockopt: GetSockOpt | null | undefined;

function libc(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(sig: string): GetSockOpt };
    };
    getsockopt = koffi.load('libc.so.6').func('int getsockopt(int, int, int, _Out_ uint8_t *buf, _Inout_ uint32_t *len)');
  } catch (err) {
    log.error('cannot read unix socket peer credentials: koffi did not load', { error: (err as Error).message });
    getsockopt = null;
  }
  return getsockopt;
}

/** /etc/passwd or /etc/group as id → name and name → members, re-read when the file changes. */
class NameTable {
  private mtime = -1;
  names = new Map<number, string>();
  members = new Map<string, string[]>();
  constructor(private readonly file: string) {}
  load(): this {
    let m = 0;
    try {
      m = statSync(this.file).mtimeMs;
    } catch {
      return this;
    }
    if (m === this.mtime) return this;
    this.mtime = m;
    this.names.clear();
    this.members.clear();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
      const id = Number(f[2]);
      if (!this.names.has(id)) this.names.set(id, f[0]!);
      if (f[3]) this.members.set(f[0]!, f[3].split(',').filter(Boolean));
    }
    return this;
  }
}
const passwd = new NameTable('/etc/passwd');
const group = new NameTable('/etc/group');

function unixPeer(s: Socket): Identity {
  const id: Identity = { transport: 'unix' };
  const fd = (s as Socket & { _handle?: { fd?: number } })._handle?.fd;
  const call = libc();
  if (call && typeof fd === 'number' && fd >= 0) {
    const cred = Buffer.alloc(12);
    if (call(fd, SOL_SOCKET, SO_PEERCRED, cred, [12]) === 0) {
      id.pid = cred.readInt32LE(0);
      id.uid = cred.readUInt32LE(4);
      id.gid = cred.readUInt32LE(8);
    }
    const buf = Buffer.alloc(4 * MAX_GROUPS);
    const len = [buf.length];
    if (call(fd, SOL_SOCKET, SO_PEERGROUPS, buf, len) === 0) {
      id.gids = Array.from({ length: Math.floor(len[0]! / 4) }, (_, i) => buf.readUInt32LE(4 * i));
    }
  }
  if (id.uid !== undefined) {
    id.user = passwd.load().names.get(id.uid);
    const groups = group.load();
    // Without SO_PEERGROUPS (kernels before 4.13): the user's groups as /etc/group lists them.
    const listed = id.gids ?? [...groups.names].filter(([, n]) => id.user !== undefined && groups.members.get(n)?.includes(id.user)).map(([g]) => g);
    id.gids = [...new Set([...(id.gid !== undefined ? [id.gid] : []), ...listed])];
    const names = groups.names;
    id.groups = id.gids.map((g) => names.get(g)).filter((n): n is string => n !== undefined);
  }
  return id;
}

function tlsPeer(s: TLSSocket): Identity {
  const cert = s.getPeerCertificate();
  const id: Identity = { transport: 'tls', remote: s.remoteAddress };
  if (cert && Object.keys(cert).length) {
    const cn = cert.subject?.CN;
    id.cn = Array.isArray(cn) ? cn.join(',') : cn;
    id.fingerprint = cert.fingerprint256;
  }
  return id;
}

/** Record who is on the other end of a freshly accepted connection. */
export function identify(s: Socket): void {
  let id: Identity;
  if ((s as TLSSocket).encrypted) id = tlsPeer(s as TLSSocket);
  else if (s.remoteAddress === undefined) id = unixPeer(s);
  else id = { transport: 'tcp', remote: s.remoteAddress };
  setIdentity(s, id);
}
