/**
 * Docker's `--user` / Config.User resolved against the container's rootfs,
 * with the rules of runc's libcontainer/user (GetExecUser) that dockerd uses:
 *
 *   ''            root (uid 0), with root's passwd entry if there is one
 *   'name'|'uid'  the passwd entry; gid and home from it, supplementary groups
 *                 from the /etc/group lines that list the user
 *   'u:g'         as above but the group is explicit (name or gid) and
 *                 /etc/group membership is not consulted
 *
 * A numeric uid/gid needs no entry (gid 0 and home '/' then). The image's
 * /etc/passwd and /etc/group are read without leaving the rootfs: symlinks
 * are resolved as if the rootfs were '/'.
 */
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import { Tree } from '../archive/tree.js';
import { InvalidArgumentError } from '../core/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const MAX_FILE = 16 * 1024 * 1024; // an /etc/passwd larger than this is not one

/** A text file of the rootfs, or null if it does not exist. Never a FIFO or device; found through handles (archive/tree.ts). */
async function readRootfsFile(rootfs: string, path: string): Promise<string | null> {
  const tree = Tree.open(rootfs);
  let fd: number | null;
  try {
    fd = tree.openFile(path);
  } finally {
    tree.close();
  }
  if (fd === null) return null;
  try {
    if (fstatSync(fd).size > MAX_FILE) return null;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const isId = (s: string) => /^[0-9]+$/.test(s);

function toId(s: string): number {
  const n = Number(s);
  if (n > MAX_ID) throw new InvalidArgumentError(`uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

function lines(text: string | null): string[][] {
  if (!text) return [];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function parsePasswd(text: string | null): PasswdEntry[] {
  // name:password:uid:gid:gecos:home:shell
  return lines(text)
    .filter((f) => isId(f[2] ?? '') && isId(f[3] ?? ''))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

function parseGroup(text: string | null): GroupEntry[] {
  // name:password:gid:member,member
  return lines(text)
    .filter((f) => isId(f[2] ?? ''))
    .map((f) => ({
      name: f[0],
      gid: Number(f[2]),
      members: (f[3] ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    }));
}

/** --group-add entries: group names or gids (a gid needs no /etc/group line). */
function additionalGroups(groupAdd: string[], groups: GroupEntry[]): number[] {
  return groupAdd.map((g) => {
    const hit = groups.find((e) => e.name === g || String(e.gid) === g);
    if (hit) return hit.gid;
    if (isId(g)) return toId(g);
    throw new InvalidArgumentError(`unable to find group ${g}: no matching entries in group file`);
  });
}

export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd?: string[] | null): Promise<ResolvedUser> {
  const [userArg = '', groupArg = ''] = (spec ?? '').split(':');
  const passwd = parsePasswd(await readRootfsFile(rootfs, '/etc/passwd'));
  const groups = parseGroup(await readRootfsFile(rootfs, '/etc/group'));

  const out = { uid: 0, gid: 0, home: '/' };
  // Empty user means root, but root's passwd entry still gives its home.
  const entry =
    userArg === '' ? passwd.find((p) => p.uid === 0) : isId(userArg) ? passwd.find((p) => p.uid === toId(userArg)) : passwd.find((p) => p.name === userArg);
  if (entry) {
    Object.assign(out, { uid: entry.uid, gid: entry.gid, home: entry.home || '/' });
  } else if (userArg !== '') {
    if (!isId(userArg)) throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`);
    out.uid = toId(userArg);
  }

  let sgids: number[] = [];
  if (groupArg !== '') {
    const g = isId(groupArg) ? groups.find((e) => e.gid === toId(groupArg)) : groups.find((e) => e.name === groupArg);
    if (g) out.gid = g.gid;
    else if (isId(groupArg)) out.gid = toId(groupArg);
    else throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (entry) {
    // Membership lists only count in the implicit form, as in runc.
    sgids = groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid);
  }

  // The primary gid leads the list, as current dockerd does, so setgroups()
  // never leaves the process with supplementary groups inherited from elsewhere.
  const additionalGids = [...new Set([out.gid, ...sgids, ...additionalGroups(groupAdd ?? [], groups)])];
  return { ...out, additionalGids };
}
