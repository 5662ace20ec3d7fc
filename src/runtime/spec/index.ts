/**
 * OCI runtime spec (the bundle's config.json) from an OCI-level input, laid out
 * the way dockerd's specs are (moby's oci defaults plus its daemon/oci_linux.go
 * adjustments), so a container run by Berth sees the same namespaces, mounts,
 * capabilities, masked paths and device rules as one run by Docker. One file per
 * kernel concern beside this one: process, capabilities, mounts, namespaces,
 * devices, cgroups, security; seccomp is ../seccomp.ts. The Docker → OCI
 * translation is the engine's (engine/containers/oci/).
 *
 * Write the result with specToJson(): an unlimited rlimit (-1) must become the
 * uint64 RLIM_INFINITY, which a JS number cannot hold.
 */
import { resources } from './cgroups.js';
import { buildMounts } from './mounts.js';
import { namespaces } from './namespaces.js';
import { buildProcess } from './process.js';
import type { OciLinux, OciProcess, OciSpec, OciSpecInput } from './types.js';

export function buildSpec(input: OciSpecInput): OciSpec {
  let mounts = buildMounts(input.rootfs, input.readonlyRootfs, input.mounts);
  // With a user namespace runc opens every bind source on the host before the rootfs is set up,
  // so cgroup v1's read-only self-bind of /sys/fs/cgroup (see mounts.ts) has nothing to open.
  if (input.namespaces.user) {
    const selfBind = `${input.rootfs.replace(/\/+$/, '')}/sys/fs/cgroup`;
    mounts = mounts.filter((m) => !(m.type === 'bind' && m.source === selfBind));
  }
  const linux: OciLinux = {
    namespaces: namespaces(input.namespaces),
    devices: input.devices,
    resources: resources(input.deviceRules, input.resources),
    cgroupsPath: input.cgroupsPath,
  };
  if (input.namespaces.user) {
    linux.uidMappings = input.namespaces.user.map.uid.map((r) => ({ ...r }));
    linux.gidMappings = input.namespaces.user.map.gid.map((r) => ({ ...r }));
  }
  if (input.seccomp) linux.seccomp = input.seccomp;
  if (input.maskedPaths) linux.maskedPaths = [...input.maskedPaths];
  if (input.readonlyPaths) linux.readonlyPaths = [...input.readonlyPaths];
  if (input.sysctl) linux.sysctl = { ...input.sysctl };

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: buildProcess(input.process),
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    mounts,
    linux,
  };
  // runc refuses a hostname without a private UTS namespace.
  if (input.namespaces.uts !== 'host' && input.hostname) spec.hostname = input.hostname;
  return spec;
}

/** config.json text; -1 rlimits become RLIM_INFINITY (uint64 max), which JSON.stringify cannot write. */
export function specToJson(value: OciSpec | OciProcess): string {
  return JSON.stringify(value, null, 2).replace(/"(soft|hard)": -1\b/g, '"$1": 18446744073709551615');
}
