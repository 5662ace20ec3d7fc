/**
 * mount(2) and umount2(2) from berthd itself (native/berth_mount.c, on the
 * thread pool), for the mounts of every container's life: its overlay and
 * its network namespace's file. util-linux's mount and umount cost a fork
 * of berthd and a read of a mount table that grows with every container.
 * User-supplied mounts (volume drivers' `type`/`o`) still go through the
 * mount command, which knows every filesystem's helpers and option names.
 */
import { loadAddon } from './native-addon.js';

export const MS_BIND = 0x1000;
export const MNT_DETACH = 0x2;
/** The kernel copies one page of mount options; longer ones need relative paths (see snapshots/overlay2.ts). */
export const MOUNT_DATA_MAX = 4095;

interface MountAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): Promise<void>;
  umount(target: string, flags: number): Promise<void>;
}

let addon: MountAddon | undefined;
const calls = (): MountAddon => (addon ??= loadAddon<MountAddon>('berth_mount'));

/** mount(2); the error is Node-shaped (`code` EINVAL, EBUSY…, `syscall`, `path`). */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): Promise<void> {
  return calls().mount(source, target, fstype, flags, data);
}

/** umount2(2): `MNT_DETACH` for a lazy unmount. */
export function umount(target: string, flags = 0): Promise<void> {
  return calls().umount(target, flags);
}

/**
 * Unmount whatever is mounted on `target`, as `umount` then `umount -l`
 * would: a busy mount is detached. False when nothing was mounted there.
 */
export async function unmountIfMounted(target: string): Promise<boolean> {
  try {
    await umount(target);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return false;
    if (code !== 'EBUSY') throw e;
  }
  await umount(target, MNT_DETACH);
  return true;
}
