/**
 * The spec adjusted for rootless mode (berthd as root of a user namespace,
 * see core/rootless.ts). runc sees the user namespace and runs rootless on
 * its own; what it cannot do there must not be asked of it:
 * - Without cgroups delegated to the user, no cgroup can be made or joined:
 *   runc ignores that only for a container with no cgroup path and no
 *   limits, so both go (create already warned that the limits were
 *   discarded; see hostconfig.ts). Device rules need no cgroup: runc
 *   bind-mounts the devices instead of making nodes.
 *   With a delegated cgroup v2 subtree the container's cgroup goes under it.
 * - An OOM score below berthd's own cannot be set without CAP_SYS_RESOURCE
 *   on the host: it is raised to berthd's.
 */
import { readFileSync } from 'node:fs';
import { rootless } from '../../../core/rootless.js';
import type { OciSpec } from '../../../runtime/spec/types.js';

function ownOomScoreAdj(): number {
  try {
    return Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

export function rootlessSpec(spec: OciSpec): OciSpec {
  const mode = rootless();
  if (!mode) return spec;
  if (!mode.cgroupsDelegated) {
    spec.linux.resources = { devices: [] };
    spec.linux.cgroupsPath = '';
  } else if (mode.cgroupParent) {
    // Under the subtree the host delegated to the user (cgroup v2 with systemd's Delegate=yes).
    spec.linux.cgroupsPath = `${mode.cgroupParent.replace(/\/$/, '')}${spec.linux.cgroupsPath}`;
  }
  const floor = ownOomScoreAdj();
  if (spec.process.oomScoreAdj !== undefined && spec.process.oomScoreAdj < floor) spec.process.oomScoreAdj = floor;
  return spec;
}
