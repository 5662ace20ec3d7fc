/**
 * The OCI runtime spec's shapes (the subset of config.json Berth writes), and the
 * OCI-level input buildSpec takes: what the kernel-facing spec needs, already
 * decided. No Docker type appears here; the engine translates a container's
 * HostConfig into an OciSpecInput (engine/containers/oci/).
 */
import type { OciSeccomp } from '../seccomp.js';
import type { IdMap, IdRange } from '../../core/idmap.js';

// ---------------------------------------------------------------- config.json

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}
export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
}
/** soft/hard -1 means unlimited (see specToJson). */
export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}
export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  consoleSize?: { height: number; width: number };
  apparmorProfile?: string;
  selinuxLabel?: string;
}
export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
export interface OciNamespace {
  type: OciNamespaceType;
  path?: string;
}
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}
export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}
export interface OciResources {
  devices: OciDeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}
export interface OciLinux {
  namespaces: OciNamespace[];
  uidMappings?: IdRange[];
  gidMappings?: IdRange[];
  devices: OciDevice[];
  resources: OciResources;
  cgroupsPath: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
}
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: OciLinux;
}

// ---------------------------------------------------------------- the input

/** The container's process: everything OciProcess holds, with capabilities as one list. */
export interface ProcessInput {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids: number[] };
  args: string[];
  env: string[];
  /** Absolute; '' means '/'. */
  cwd: string;
  /** The capabilities the process holds (bounding, effective and permitted alike). */
  capabilities: string[];
  noNewPrivileges: boolean;
  rlimits?: OciRlimit[];
  consoleSize?: { height: number; width: number };
  oomScoreAdj?: number;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

/** The filesystem the container sees besides its rootfs. */
export interface MountsInput {
  /** The container's own mounts (binds, volumes, tmpfs, /etc files, init); each replaces a default at its destination. */
  container: OciMount[];
  /** /dev/shm: a private tmpfs of shmSize bytes, the host's /dev/shm bound in, or none. */
  shm: 'private' | 'host' | 'none';
  shmSize: number;
  /** Writable /sys and cgroup fs (a privileged container). */
  writableSysfs: boolean;
}

/** Per namespace: 'private' or unset (a new one), 'host' (share the host's), or a namespace path to join. */
export interface NamespacesInput {
  network?: string;
  pid?: string;
  ipc?: string;
  uts?: 'private' | 'host';
  cgroup: 'private' | 'host';
  /**
   * A user namespace with this mapping (`--userns-remap`): a new one, or the one at `path`
   * (made with the container's network namespace); unset runs in the host's.
   */
  user?: { map: IdMap; path?: string };
}

export interface OciSpecInput {
  /** Absolute path of the mounted rootfs. */
  rootfs: string;
  readonlyRootfs: boolean;
  /** Written only with a private UTS namespace (runc refuses it otherwise). */
  hostname: string;
  process: ProcessInput;
  mounts: MountsInput;
  namespaces: NamespacesInput;
  /** Device nodes created in the container's /dev. */
  devices: OciDevice[];
  /** The device cgroup's rules, in order. */
  deviceRules: OciDeviceCgroup[];
  /** Memory, cpu, pids and block IO limits. */
  resources: Omit<OciResources, 'devices'>;
  /** e.g. '/berth/<id>' */
  cgroupsPath: string;
  /** Paths hidden and made read-only; unset leaves them as they are. */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
}
