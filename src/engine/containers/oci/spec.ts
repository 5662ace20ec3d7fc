/**
 * Docker → OCI: a container's HostConfig and resolved process translated into the
 * runtime's OCI-level input (runtime/spec), the way dockerd's daemon/oci_linux.go
 * does it — capabilities, devices, tmpfs, /dev/shm, --init, limits, security
 * options, masked paths, sysctls. Both the container's spec and an exec's process.
 */
import type { HostConfig } from '../../../core/wire/host-config.js';
import type { IdMap } from '../../../core/idmap.js';
import { containerSeccomp } from '../../../runtime/seccomp.js';
import { cgroupV2 } from '../../../runtime/spec/cgroups.js';
import { buildSpec } from '../../../runtime/spec/index.js';
import { buildProcess } from '../../../runtime/spec/process.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../../runtime/spec/security.js';
import type { OciMount, OciProcess, OciSpec, OciSpecInput, ProcessInput } from '../../../runtime/spec/types.js';
import { DEFAULT_SHM_SIZE } from '../hostconfig.js';
import { resolveCaps } from './capabilities.js';
import { containerDevices } from './devices.js';
import { resourceLimits, rlimits } from './resources.js';
import { securityOpts } from './security-opts.js';
import { tmpfsMounts } from './tmpfs.js';

export interface ContainerSpecInput {
  id: string;
  /** Absolute path of the mounted rootfs. */
  rootfs: string;
  /** Process args (entrypoint + cmd already resolved). */
  args: string[];
  /** Final env (KEY=VAL); PATH default already applied by the caller. */
  env: string[];
  /** Absolute; default '/'. */
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  tty: boolean;
  hostConfig: HostConfig;
  /** e.g. '/berth/<id>' */
  cgroupsPath: string;
  /** /etc/hosts, /etc/resolv.conf, /etc/hostname, volumes, binds (caller-built). */
  extraMounts?: OciMount[];
  /** 'private' (default), 'host', or a namespace path to join. */
  namespaces?: { network?: string; pid?: string; ipc?: string; uts?: 'private' | 'host'; user?: { map: IdMap; path?: string } };
  /** HostConfig.Init: the init binary on the host, bind-mounted at /sbin/docker-init. */
  initPath?: string;
  /** Defaults to SecurityOpt "no-new-privileges". */
  noNewPrivileges?: boolean;
}

/** The OCI-level input for a container's spec. */
export function ociSpecInput(input: ContainerSpecInput): OciSpecInput {
  const hc = input.hostConfig;
  const privileged = !!hc.Privileged;
  const sec = securityOpts(hc);

  // Mounts the user asked for (or the caller built) replace defaults at the same place.
  const mounts: OciMount[] = [...(input.extraMounts ?? []), ...tmpfsMounts(hc.Tmpfs)];
  let args = input.args;
  if (input.initPath) {
    mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
    args = ['/sbin/docker-init', '--', ...args];
  }
  const { devices, rules } = containerDevices(hc);

  const caps = resolveCaps(hc.CapAdd, hc.CapDrop, privileged);
  const process: ProcessInput = {
    terminal: input.tty,
    user: input.user,
    args,
    env: input.env,
    cwd: input.cwd,
    capabilities: caps,
    noNewPrivileges: input.noNewPrivileges ?? sec.noNewPrivileges,
  };
  const rl = rlimits(hc);
  if (rl) process.rlimits = rl;
  // The client's window size at create (API ≥ 1.42): the terminal has it before the process first looks.
  const cs = hc.ConsoleSize;
  if (input.tty && Array.isArray(cs) && Number(cs[0]) > 0 && Number(cs[1]) > 0) process.consoleSize = { height: Number(cs[0]), width: Number(cs[1]) };
  if (typeof hc.OomScoreAdj === 'number') process.oomScoreAdj = hc.OomScoreAdj;

  const ns = input.namespaces ?? {};
  // dockerd's default per cgroup version.
  const cgroupns = typeof hc.CgroupnsMode === 'string' && hc.CgroupnsMode ? hc.CgroupnsMode : cgroupV2() ? 'private' : 'host';
  const out: OciSpecInput = {
    rootfs: input.rootfs,
    readonlyRootfs: !!hc.ReadonlyRootfs,
    hostname: input.hostname,
    process,
    mounts: {
      container: mounts,
      // --ipc none has no /dev/shm; --ipc host shares the host's.
      shm: hc.IpcMode === 'none' ? 'none' : ns.ipc === 'host' ? 'host' : 'private',
      shmSize: hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE,
      writableSysfs: privileged,
    },
    namespaces: { ...ns, cgroup: cgroupns === 'private' ? 'private' : 'host' },
    devices,
    deviceRules: rules,
    resources: resourceLimits(hc),
    cgroupsPath: input.cgroupsPath,
  };
  const seccomp = containerSeccomp(sec.seccomp, privileged, caps);
  if (seccomp) out.seccomp = seccomp;
  if (!privileged && !sec.unmaskedPaths) {
    // The container's own lists (dockerd stores the defaults in them at create; an API client may set others).
    out.maskedPaths = Array.isArray(hc.MaskedPaths) ? (hc.MaskedPaths as string[]) : MASKED_PATHS;
    out.readonlyPaths = Array.isArray(hc.ReadonlyPaths) ? (hc.ReadonlyPaths as string[]) : READONLY_PATHS;
  }
  const sysctls = hc.Sysctls;
  if (sysctls && typeof sysctls === 'object' && Object.keys(sysctls).length) out.sysctl = sysctls as Record<string, string>;
  return out;
}

/** The container's OCI runtime spec (config.json), as dockerd would write it. */
export function containerSpec(input: ContainerSpecInput): OciSpec {
  return buildSpec(ociSpecInput(input));
}

export interface ExecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  tty: boolean;
  /** The container's HostConfig: exec gets the container's capabilities. */
  hostConfig: HostConfig;
  /** `docker exec --privileged`: all capabilities for this process. */
  privileged?: boolean;
  noNewPrivileges?: boolean;
}

/** The `process` object for `runc exec --process` (docker exec). */
export function execProcess(input: ExecInput): OciProcess {
  const hc = input.hostConfig;
  const privileged = !!input.privileged || !!hc.Privileged;
  return buildProcess({
    terminal: input.tty,
    user: input.user,
    args: input.args,
    env: input.env,
    cwd: input.cwd,
    capabilities: resolveCaps(hc.CapAdd, hc.CapDrop, privileged),
    noNewPrivileges: input.noNewPrivileges ?? securityOpts(hc).noNewPrivileges,
  });
}
