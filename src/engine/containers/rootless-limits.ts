/**
 * Limits in rootless mode without delegated cgroups. berthd then cannot make
 * a cgroup for a container (cgroup v1, or v2 without systemd delegating a
 * subtree to the user), so a memory, CPU or PIDs limit could not be enforced.
 * As dockerd does on a host whose cgroups lack a controller, each asked-for
 * limit is discarded at create with a warning in the create response that
 * says why — never silently, and never a limit reported that is not there.
 */
import type { HostConfig } from '../../core/wire/host-config.js';

const WHY = 'berthd runs rootless and the host delegates no cgroups to this user';

/** [field, what the user asked for, its unset value]. */
const LIMITS: [keyof HostConfig, string, unknown][] = [
  ['Memory', 'memory limit (--memory)', 0],
  ['MemoryReservation', 'memory reservation (--memory-reservation)', 0],
  ['MemorySwap', 'memory+swap limit (--memory-swap)', 0],
  ['KernelMemory', 'kernel memory limit', 0],
  ['NanoCpus', 'CPU limit (--cpus)', 0],
  ['CpuShares', 'CPU shares (--cpu-shares)', 0],
  ['CpuPeriod', 'CPU CFS period (--cpu-period)', 0],
  ['CpuQuota', 'CPU CFS quota (--cpu-quota)', 0],
  ['CpusetCpus', 'cpuset (--cpuset-cpus)', ''],
  ['CpusetMems', 'cpuset memory nodes (--cpuset-mems)', ''],
  ['PidsLimit', 'PIDs limit (--pids-limit)', null],
  ['BlkioWeight', 'block I/O weight (--blkio-weight)', 0],
];

/** Asked for: not the unset value (--memory-swap -1, unlimited, asks for nothing). */
function isSet(v: unknown): boolean {
  return v !== undefined && v !== null && v !== 0 && v !== '' && v !== -1;
}

/** Drop the limits no cgroup can carry; one warning per limit dropped. */
export function discardLimits(h: HostConfig): string[] {
  const warnings: string[] = [];
  const rec = h as unknown as Record<string, unknown>;
  for (const [key, what, unset] of LIMITS) {
    if (!isSet(rec[key])) continue;
    rec[key] = unset;
    warnings.push(`The ${what} was discarded: ${WHY}, so no limit can be applied (cgroup driver "none").`);
  }
  if (h.OomKillDisable) {
    h.OomKillDisable = false;
    warnings.push(`--oom-kill-disable was discarded: ${WHY}.`);
  }
  return warnings;
}
