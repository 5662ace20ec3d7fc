/**
 * A container as the engine keeps it: Docker's Config and HostConfig (as the
 * API sends them), plus the state the engine tracks. Field names follow the
 * Engine API so inspect output is these records, reshaped little.
 */
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { EndpointConfig } from './networking.js';
import type { MountPoint } from './mounts.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLog { Start: string; End: string; ExitCode: number; Output: string }

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
}
