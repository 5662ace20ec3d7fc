/**
 * A container as the engine keeps it: the record written at create
 * (containers/<id>/config.json), its state (state.json), and the live
 * handle the service holds for each (watchers, timers, waiters). Every file
 * of this folder takes these types from here, never from the service.
 */
import type { FSWatcher } from 'node:fs';
import { ZERO_TIME } from '../../core/go-values.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { LogKeeper } from './logfiles.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { IdMap } from '../../core/idmap.js';

/** One network a container is configured on (Docker's EndpointSettings, the configured part). */
export interface EndpointConfig {
  NetworkID: string;
  Aliases: string[] | null;
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** One mount of a container as recorded at create (Docker's MountPoint). */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (volumes only). */
  Name?: string;
  /** Host path for binds; empty for volumes (the volume's mountpoint is looked up) and tmpfs. */
  Source: string;
  Destination: string;
  Driver?: string;
  /** The mode string as given in -v (e.g. "ro", "z"), '' for --mount. */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Copy the image's content at Destination into an empty volume on first use. */
  CopyData?: boolean;
  /** tmpfs mount options (size=…, mode=…). */
  TmpfsOptions?: string[];
  /** Created for this container (image VOLUME, -v /path, --mount without source): removed with rm -v. */
  Anonymous?: boolean;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: 'starting' | 'healthy' | 'unhealthy'; FailingStreak: number; Log: HealthLog[] };
}

/** What containers/<id>/config.json holds. */
export interface ContainerRecord {
  Id: string;
  Created: string;
  /** With the leading slash, as Docker keeps it. */
  Name: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** The image ID (sha256:…). */
  Image: string;
  /** Chain ID of the image's top layer, the snapshot's parent. */
  RootfsParent?: string;
  /** Chain IDs of every image layer under the rootfs: kept from garbage collection while the container exists. */
  RootfsChain?: string[];
  RestartCount: number;
  /** The user stopped it (for unless-stopped and for not restarting on daemon start). */
  ManuallyStopped?: boolean;
  /** Networks it is configured on, by name (NetworkSettings.Networks, the configured part). */
  Networks?: Record<string, EndpointConfig>;
  /** Volumes, binds and tmpfs mounts, resolved at create (Docker's MountPoints). */
  MountPoints?: MountPoint[];
  /**
   * A build step's container while its build runs: a daemon that starts and
   * finds one was killed mid-build, and removes it (a build that keeps a
   * step's container for the user clears this).
   */
  BuildStep?: boolean;
  /**
   * no-new-privileges for its processes, settled at create as dockerd does: its own
   * `--security-opt no-new-privileges[=bool]`, else daemon.json's `no-new-privileges`.
   */
  NoNewPrivileges?: boolean;
  /**
   * The user-namespace mapping it runs with (the daemon's `--userns-remap`,
   * unless `--userns=host`), fixed at create: its writable layer holds ids of
   * this mapping, so a daemon restarted with another keeps it as it was.
   */
  IdMap?: IdMap;
}

/** The service's live handle on one container: its record and state, and what watches it while it runs. */
export interface Container {
  rec: ContainerRecord;
  state: ContainerState;
  /** Resolved on the next exit (wait next-exit / not-running). */
  exitWaiters: Array<(code: number) => void>;
  removeWaiters: Array<(code: number) => void>;
  watcher?: FSWatcher;
  poll?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  /** The restart policy's current delay (dockerd's restart manager): 100 ms, doubled at each restart, reset after a 10 s run. */
  restartDelayMs?: number;
  /** A kill or stop asked for this exit: the restart policy does not apply to it (dockerd's ExitOnNext). */
  exitOnNext?: boolean;
  removing?: boolean;
  stopHealth?: () => void;
  /** Keeps the chain of rotated log files while the container runs (max-size with max-file > 1). */
  logKeeper?: LogKeeper;
}

/** The state of a container that has never run. */
export function emptyState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}
