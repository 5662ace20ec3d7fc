/**
 * Device nodes for the spec's `linux.devices`, read from the host: every device
 * (a privileged container, like runc's HostDevices) or the ones mapped in, each
 * with the cgroup rule that allows it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';
import type { OciDevice, OciDeviceCgroup } from './types.js';

/** A host device (or a directory of them) shown in the container at containerPath, with cgroup access like 'rwm'. */
export interface DeviceMapping {
  hostPath: string;
  containerPath: string;
  access: string;
}

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** A device node on the host (symlinks followed) as it appears at `containerPath`; null if not a device. */
function deviceAt(hostPath: string, containerPath: string): OciDevice | null {
  const st = statSync(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : null;
  if (!type) return null;
  return { path: containerPath, type, ...majorMinor(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** Host devices under `dir`, recursively; used for --privileged (like runc's HostDevices). */
export function hostDevices(dir = '/dev'): OciDevice[] {
  const skip = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  const out: OciDevice[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!skip.has(e.name)) out.push(...hostDevices(p));
    } else if ((e.isCharacterDevice() || e.isBlockDevice()) && p !== '/dev/console') {
      try {
        const d = deviceAt(p, p);
        if (d) out.push(d);
      } catch {
        /* vanished */
      }
    }
  }
  return out;
}

/** Mapped devices → device nodes plus their cgroup allow rules. A directory maps every device under it. */
export function mappedDevices(mappings: DeviceMapping[]): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  const devices: OciDevice[] = [];
  const rules: OciDeviceCgroup[] = [];
  for (const m of mappings) {
    const access = m.access;
    if (!/^[rwm]{1,3}$/.test(access)) throw new InvalidArgumentError(`invalid device cgroup permissions: "${access}"`);
    const target = m.containerPath;
    let found: OciDevice[];
    try {
      if (statSync(m.hostPath).isDirectory()) {
        found = hostDevices(m.hostPath).map((d) => ({ ...d, path: posix.join(target, posix.relative(m.hostPath, d.path)) }));
      } else {
        const d = deviceAt(m.hostPath, target);
        if (!d) throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.hostPath}": not a device node`);
        found = [d];
      }
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.hostPath}": no such file or directory`);
    }
    for (const d of found) {
      devices.push(d);
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  }
  return { devices, rules };
}
