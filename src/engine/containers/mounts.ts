/**
 * The seam between containers and volumes: what the container service asks of
 * the volume service at create, start, exit and remove. (engine/volumes
 * implements it; a container service without one refuses volumes and binds.)
 */
import type { OciMount } from '../../runtime/spec/types.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { Container, MountPoint } from './record.js';

export interface ContainerMounts {
  /** Check and record the create request's mounts; creates named and anonymous volumes and -v bind sources. */
  planCreate(config: ContainerConfig, hostConfig: HostConfig, containers: (ref: string) => Container): Promise<MountPoint[]>;
  /** Before the process starts: the OCI mounts (copying image content into new volumes from the mounted rootfs). */
  attach(c: Container, rootfs: string): Promise<OciMount[]>;
  /** After the container stopped: release what attach took (device-backed volumes unmounted when unused). */
  detach(c: Container): Promise<void>;
  /** On container removal; removeAnonymous for rm -v and --rm. */
  removeContainer(c: Container, removeAnonymous: boolean): Promise<void>;
  /** The host path holding a mount's files (volume _data or bind source); undefined for tmpfs. */
  hostPath(m: MountPoint): string | undefined;
  /** Inspect's and the list's Mounts entries. */
  view(c: Container): Record<string, unknown>[];
}
