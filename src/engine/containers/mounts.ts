/**
 * The seam between containers and volumes: what the container service asks of
 * the volume service at create, start, exit and remove. (engine/volumes
 * implements it; a container service without one refuses volumes and binds.)
 */
import type { OciMount } from '../../runtime/spec.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { Container } from './service.js';

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
