/**
 * The data root's directories a remapped container's root must pass through.
 * runc sets up the rootfs and the bind mounts (/etc/hosts, resolv.conf, …)
 * from inside the container's user namespace, as the remapped root, so every
 * directory above them must let that uid through; dockerd gives its remapped
 * root <data-root>/<uid>.<gid> mode 0710 with the remapped group for it. Here
 * the same: the directories on those paths get the remapped root's group and
 * 0710 (search, no listing), so no other user gains anything.
 */
import { chown, chmod, lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rootPair, type IdMap } from '../../core/idmap.js';

/** Group `gid` may pass through `dir` (0710 root:gid); a missing dir is left alone. */
export async function letThrough(dir: string, gid: number): Promise<void> {
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  if (st.gid !== gid) await chown(dir, st.uid, gid);
  // Group search only: whatever mode it had for others stays; the group never lists or writes.
  const mode = (st.mode & 0o7707) | 0o010;
  if ((st.mode & 0o7777) !== mode) await chmod(dir, mode);
}

/** Whether uid/gid (no supplementary groups) may search `dir`. */
async function canSearch(dir: string, uid: number, gid: number): Promise<boolean> {
  const st = await lstat(dir);
  if (st.uid === uid) return (st.mode & 0o100) !== 0;
  if (st.gid === gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/** At start: the data root and the trees above every container's rootfs and files. */
export async function openToRemappedRoot(dataRoot: string, map: IdMap): Promise<void> {
  const { uid, gid } = rootPair(map);
  // As dockerd: a directory above the data root that the remapped root cannot pass fails the start now.
  for (let d = dirname(dataRoot); d !== '/' && d !== '.'; d = dirname(d)) {
    if (!(await canSearch(d, uid, gid)))
      throw new Error(
        `a subdirectory in your graphroot path (${dataRoot}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`,
      );
  }
  const dirs = [dataRoot, join(dataRoot, 'containers'), join(dataRoot, 'snapshots')];
  for (const driver of await readdir(join(dataRoot, 'snapshots')).catch(() => [] as string[])) {
    dirs.push(join(dataRoot, 'snapshots', driver), join(dataRoot, 'snapshots', driver, 'active'));
  }
  for (const d of dirs) await letThrough(d, gid);
}
