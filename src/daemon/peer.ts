/**
 * Who connected: the listeners call `identify` once per accepted connection
 * and the identity stays with the socket (engine/audit/identity.ts). On a
 * unix socket the kernel's SO_PEERCRED (uid, gid, pid at connect time) and
 * SO_PEERGROUPS (the supplementary groups), read with getsockopt by the
 * native addon (native/berth_peercred.c) since Node has no getsockopt; names
 * come from /etc/passwd and /etc/group. The addon is loaded on the first unix
 * connection, not at start.
 * On TLS: the client certificate's subject CN and SHA-256 fingerprint.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { loadAddon } from '../core/native-addon.js';
import { log } from '../core/log.js';
import { type Identity, setIdentity } from '../engine/audit/identity.js';

interface PeerCredAddon {
  peerCredentials(fd: number): { pid: number; uid: number; gid: number; groups?: number[] } | null;
}
let addon: PeerCredAddon | null | undefined;

function peerCred(): PeerCredAddon | null {
  if (addon !== undefined) return addon;
  try {
    addon = loadAddon<PeerCredAddon>('berth_peercred');
  } catch (err) {
    log.error('cannot read unix socket peer credentials: the native addon did not load', { error: (err as Error).message });
    addon = null;
  }
  return addon;
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
  const cred = typeof fd === 'number' && fd >= 0 ? peerCred()?.peerCredentials(fd) : undefined;
  if (cred) {
    id.pid = cred.pid;
    id.uid = cred.uid;
    id.gid = cred.gid;
    if (cred.groups) id.gids = cred.groups;
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
