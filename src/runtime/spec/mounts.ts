/**
 * The spec's `mounts`: the default filesystems of a Linux container (proc, /dev,
 * devpts, sysfs, cgroup, mqueue, /dev/shm) as dockerd sets them, with the
 * container's own mounts replacing a default at the same place and stacked
 * parents before children.
 */
import { posix } from 'node:path';
import { cgroupV2 } from './cgroups.js';
import type { MountsInput, OciMount } from './types.js';

const KiB = 1024;

function sizeOpt(bytes: number): string {
  return bytes % KiB === 0 ? `size=${bytes / KiB}k` : `size=${bytes}`;
}

function defaultMounts(shmSize: number, ipcHost: boolean): OciMount[] {
  const nse = ['nosuid', 'noexec', 'nodev'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['rw', ...nse] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['rw', 'nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', ...nse] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', ...nse] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['rw', ...nse] },
    // --ipc host shares the host's /dev/shm, as dockerd does.
    ipcHost
      ? { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['rw', ...nse, 'mode=1777', sizeOpt(shmSize)] },
  ];
}

const depth = (p: string) => posix.normalize(p).split('/').filter(Boolean).length;

/** The defaults the container keeps, then its own mounts, parents before children. */
export function buildMounts(rootfs: string, readonly: boolean, input: MountsInput): OciMount[] {
  const user = input.container;
  const userDest = new Set(user.map((m) => posix.normalize(m.destination)));
  const defaults = defaultMounts(input.shmSize, input.shm === 'host')
    .filter((m) => !userDest.has(m.destination))
    .filter((m) => !(userDest.has('/dev') && m.destination.startsWith('/dev/')))
    .filter((m) => !(input.shm === 'none' && m.destination === '/dev/shm'))
    .map((m) => {
      let options = [...(m.options ?? [])];
      // A read-only rootfs makes the default mounts read-only too, except the
      // ones a process needs to write (dockerd's list).
      if (readonly && !['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue'].includes(m.destination) && !options.includes('ro')) {
        options.push('ro');
      }
      // Privileged: writable /sys and cgroup fs.
      if (input.writableSysfs && (m.destination === '/sys' || m.type === 'cgroup')) options = options.filter((o) => o !== 'ro');
      return { ...m, options };
    });
  // cgroup v1: runc makes the `cgroup` mount a tmpfs holding read-only binds of the
  // container's controllers, but (unlike the runc Docker first shipped with, and
  // cgroup v2's single mount) leaves the tmpfs itself writable. Bind it onto itself
  // read-only: at mount time the rootfs is still reached at its host path.
  const cgroupAt = defaults.findIndex((m) => m.type === 'cgroup' && m.destination === '/sys/fs/cgroup');
  if (cgroupAt >= 0 && !cgroupV2() && defaults[cgroupAt]!.options!.includes('ro') && ![...userDest].some((d) => d.startsWith('/sys/fs/cgroup/'))) {
    defaults.splice(cgroupAt + 1, 0, {
      destination: '/sys/fs/cgroup',
      type: 'bind',
      source: posix.join(rootfs, 'sys/fs/cgroup'),
      options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'],
    });
  }
  // Parents before children, so a volume inside another volume lands on top.
  const sortedUser = user
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map(({ m }) => m);
  return [...defaults, ...sortedUser];
}
