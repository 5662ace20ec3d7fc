/**
 * GET /info in rootless mode, as dockerd reports it: "name=rootless" among
 * the security options, overlayfs on user xattrs, and, without cgroups
 * delegated to the user, the cgroup driver "none", no limit reported as
 * supported, and a warning that says so (the docker CLI prints Warnings).
 */
import { rootless } from '../core/rootless.js';

const LIMIT_KEYS = [
  'MemoryLimit',
  'SwapLimit',
  'KernelMemory',
  'KernelMemoryTCP',
  'CpuCfsPeriod',
  'CpuCfsQuota',
  'CPUShares',
  'CPUSet',
  'PidsLimit',
  'OomKillDisable',
];

export function rootlessInfo(info: Record<string, unknown>): Record<string, unknown> {
  const mode = rootless();
  if (!mode) return info;
  const out: Record<string, unknown> = { ...info };
  out.SecurityOptions = [...((info.SecurityOptions as string[] | undefined) ?? []), 'name=rootless'];
  if (Array.isArray(info.DriverStatus)) out.DriverStatus = (info.DriverStatus as string[][]).map(([k, v]) => [k, k === 'userxattr' ? 'true' : v]);
  if (!mode.cgroupsDelegated) {
    out.CgroupDriver = 'none';
    for (const k of LIMIT_KEYS) if (k in out) out[k] = false;
    const why =
      info.CgroupVersion === '2'
        ? 'WARNING: Running in rootless-mode without cgroups. Systemd is required to enable cgroups in rootless-mode (a delegated cgroup v2 subtree); memory, CPU and PIDs limits are discarded.'
        : 'WARNING: Running in rootless-mode without cgroups. To enable cgroups in rootless-mode, you need to boot the system in cgroup v2 mode; memory, CPU and PIDs limits are discarded.';
    out.Warnings = [...((info.Warnings as string[] | null | undefined) ?? []), why];
  }
  return out;
}
