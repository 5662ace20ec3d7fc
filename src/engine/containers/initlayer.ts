/**
 * What Docker's init layer puts under every container's rootfs: an empty
 * `/.dockerenv` (programs look for it to know they run in a container) and
 * `/etc/mtab` as a link to /proc/mounts (mount, df and friends read it).
 *
 * Berth has no separate init layer: the two entries are made in the
 * container's own layer when it is first mounted, only where the image does
 * not have them, and `diff` and `commit` leave them out as runtime paths
 * (engine/build/layers.ts), so they show up where Docker shows them — the
 * running container and its export — and nowhere else.
 */
import { lstat, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const missing = (p: string) =>
  lstat(p).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
  );

/** Make the init layer's entries in a mounted rootfs where they are missing. */
export async function addInitFiles(rootfs: string): Promise<void> {
  await Promise.all([
    (async () => {
      const p = join(rootfs, '.dockerenv');
      if (await missing(p)) await writeFile(p, '', { mode: 0o755, flag: 'wx' }).catch(ignoreExists);
    })(),
    (async () => {
      // Only into a real /etc: the image's /etc may be a link, which must not lead us out of the rootfs.
      const etc = join(rootfs, 'etc');
      const st = await lstat(etc).catch(() => null);
      if (st && !st.isDirectory()) return;
      // A rootfs without /etc gets one as the init layer makes it (root's, 0755).
      if (!st) await mkdir(etc, { mode: 0o755 }).catch(ignoreExists);
      if (!(await missing(join(etc, 'mtab')))) return;
      await symlink('/proc/mounts', join(etc, 'mtab')).catch(ignoreExists);
    })(),
  ]);
}

function ignoreExists(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EEXIST') throw e;
}
