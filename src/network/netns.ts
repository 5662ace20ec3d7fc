/**
 * Persistent network namespaces: a new namespace bind-mounted on a file
 * (util-linux `unshare --net=FILE`), so it exists before runc starts the
 * container (runc joins it by path), outlives berthd, and is torn down
 * explicitly — umount and unlink — when the container stops.
 */
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync, readlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { procMapText, type IdMap } from '../core/idmap.js';
import { dirname } from 'node:path';
import { run } from '../core/proc.js';
import { SystemError, messageOf } from '../core/errors.js';
import { MNT_DETACH, MS_BIND, mount, umount, unmountIfMounted } from '../core/mounts.js';

/** Where a remapped container's user namespace is pinned, beside its network namespace's file. */
export function usernsPathOf(netns: string): string {
  return `${netns}.userns`;
}

/**
 * A new namespace on `path`, its loopback up (brought up inside it by the same exec: no CNI
 * loopback run). With `idmap` (a remapped container) it belongs to a new user namespace with
 * that mapping, pinned at usernsPathOf(path): the container joins both, so its root may mount
 * sysfs and `runc exec` (user namespace first, then the others) may enter the network namespace.
 */
export async function createNetns(path: string, idmap?: IdMap): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // No file, no mount: the table is read only for a path left from before.
  if (existsSync(path) && (await isNetnsMount(path))) return;
  await writeFile(path, '');
  if (idmap) return createOwnedNetns(path, idmap);
  const r = await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
  if (r.code !== 0) {
    await rm(path, { force: true });
    throw new SystemError(`failed to create network namespace ${path}: ${r.stderr.trim()}`);
  }
}

/** The user and network namespaces of a paused `unshare --user --net` child, mapped and pinned on files. */
async function createOwnedNetns(path: string, idmap: IdMap): Promise<void> {
  const userns = usernsPathOf(path);
  const child = spawn('unshare', ['--user', '--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const pid = child.pid!;
  try {
    const mine = readlinkSync('/proc/self/ns/net');
    for (let i = 0; ; i++) {
      let ns = mine;
      try {
        ns = readlinkSync(`/proc/${pid}/ns/net`);
      } catch {
        /* not yet */
      }
      if (ns !== mine) break;
      if (i > 400) throw new SystemError(`failed to create network namespace ${path}: unshare did not start`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await writeFile(`/proc/${pid}/uid_map`, procMapText(idmap.uid));
    await writeFile(`/proc/${pid}/gid_map`, procMapText(idmap.gid));
    await writeFile(userns, '');
    for (const [src, dst] of [
      [`/proc/${pid}/ns/user`, userns],
      [`/proc/${pid}/ns/net`, path],
    ]) {
      await mount(src!, dst!, null, MS_BIND).catch((e: unknown) => {
        throw new SystemError(`failed to create network namespace ${path}: ${messageOf(e)}`);
      });
    }
    const lo = await run('nsenter', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
    if (lo.code !== 0) throw new SystemError(`failed to create network namespace ${path}: ${lo.stderr.trim()}`);
  } catch (e) {
    await removeNetns(path);
    throw e;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Unmount and delete; a namespace no one else holds is freed by the kernel, with its veths. */
export async function removeNetns(path: string): Promise<void> {
  const userns = usernsPathOf(path);
  if (existsSync(userns)) {
    await umount(userns, MNT_DETACH).catch(() => {});
    await rm(userns, { force: true });
  }
  // Tried, not looked up: a file that is no mount answers EINVAL, and the mount table is not read.
  await unmountIfMounted(path);
  await rm(path, { force: true });
}

export async function isNetnsMount(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((l) => l.split(' ')[4] === path);
}

/** Netns mounts under a directory (for reconciling after a crash). */
export async function netnsMountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'));
}
