/**
 * Docker's HostConfig, as the Engine API sends it on create and inspect shows
 * it, with the restart policy, ulimits and device mappings inside it: read by
 * the engine (policy, and its translation to the OCI spec) and the API, so it lives below them.
 */

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'on-failure' | 'unless-stopped';
  MaximumRetryCount?: number;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** The part of Docker's HostConfig Berth acts on (other keys are kept as sent). */
export interface HostConfig {
  Binds?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  /** Legacy links on the default bridge, as dockerd stores them: "/target:/linker/alias". */
  Links?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ShmSize?: number;
  Init?: boolean | null;
  // Resources
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  Devices?: DeviceMapping[] | null;
  Ulimits?: Ulimit[] | null;
  OomKillDisable?: boolean | null;
  LogConfig?: { Type: string; Config?: Record<string, string> };
  [k: string]: unknown;
}
