/**
 * Creating a container: Docker's create request checked and settled against
 * the image's config and the host, a name taken, the rootfs snapshot
 * prepared (held by a lease until the record is listed) and the record written.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { chainIds, type Digest } from '../../core/digest.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { KeyedMutex } from '../../core/mutex.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { ImageService } from '../images/service.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import { checkImagePlatform, commandOf, createPlatform, mergeConfig, validateHostConfig } from './config.js';
import { settleHostConfig, type HostFacts, type RuntimeNames } from './hostconfig.js';
import { noNewPrivilegesOf } from './oci/security-opts.js';
import { parseLinks, storedLinks } from './links.js';
import { settleLogConfig } from './logfiles.js';
import type { ContainerMounts } from './mounts.js';
import { randomName, validName } from './names.js';
import type { ContainerNetworking } from './networking.js';
import { emptyState, type Container, type ContainerRecord } from './record.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { IdMap } from '../../core/idmap.js';
import { containerIdMap } from './userns.js';

/** Docker's create request: the container's Config with its HostConfig and networks. */
export interface CreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
  StopTimeout?: number;
}

/** What creating a container needs of the container service. */
export interface CreateHost {
  readonly byId: Map<string, Container>;
  readonly images: Pick<ImageService, 'tryResolve' | 'config' | 'holdSnapshot'>;
  readonly snapshotter: Snapshotter;
  readonly events: EventBus;
  readonly locks: KeyedMutex;
  readonly hostFacts: HostFacts;
  readonly opts: { readonly logOpts?: Record<string, string>; readonly noNewPrivileges?: boolean; readonly remap?: IdMap };
  readonly runc: { readonly table: RuntimeNames };
  readonly networking?: ContainerNetworking;
  readonly volumes?: ContainerMounts;
  get(ref: string): Container;
  nameTaken(name: string): Container | undefined;
  dataDir(id: string): string;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  save(c: Container): Promise<void>;
}

/**
 * Create a container from an image and Docker's create request: settle its
 * config and HostConfig as dockerd would, plan its networks and mounts, take
 * a name, prepare its rootfs snapshot and write its record.
 */
export async function createContainer(
  svc: CreateHost,
  nameIn: string | undefined,
  req: CreateRequest,
  opts: { buildStep?: boolean; platform?: string } = {},
): Promise<{ Id: string; Warnings: string[] }> {
  if (!req.Image) throw new InvalidArgumentError('no image specified');
  const wanted = opts.platform ? createPlatform(opts.platform) : undefined;
  const image = svc.images.tryResolve(req.Image);
  if (!image) throw new NotFoundError(`No such image: ${req.Image}`);
  const imgCfg = await svc.images.config(image.id);
  if (wanted) checkImagePlatform(req.Image, wanted, imgCfg);
  const { hostConfig, warnings } = settleHostConfig(req.HostConfig, svc.hostFacts, svc.runc.table);
  const { HostConfig: _h, NetworkingConfig: _n, ...cfgReq } = req;
  const config = mergeConfig(cfgReq, imgCfg.config);
  validateHostConfig(hostConfig, config);
  const idmap = containerIdMap(hostConfig, svc.opts.remap);
  hostConfig.LogConfig = settleLogConfig(hostConfig.LogConfig, svc.opts.logOpts);
  const { path, args } = commandOf(config);
  const networks = svc.networking?.planCreate(hostConfig, req.NetworkingConfig ?? null, typeof req.MacAddress === 'string' ? req.MacAddress : undefined);
  const nm = hostConfig.NetworkMode ?? '';
  const links = parseLinks(hostConfig.Links, (r) => svc.get(r));
  if (links.length && nm === 'host')
    throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if (links.length && nm.startsWith('container:'))
    throw new InvalidArgumentError("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  // Legacy links belong to the default bridge; on a user-defined network planCreate made them DNS aliases.
  const legacyLinks = svc.networking && (nm === 'default' || nm === 'bridge') ? links : [];
  if (!svc.networking && nm && !['default', 'bridge', 'none', 'host'].includes(nm) && !nm.startsWith('container:')) {
    throw new NotFoundError(`network ${nm} not found`);
  }

  const id = randomBytes(32).toString('hex');
  config.Hostname = config.Hostname || id.slice(0, 12);
  if (
    !svc.volumes &&
    (hostConfig.Binds?.length || (hostConfig.Mounts as unknown[] | undefined)?.length || (hostConfig.VolumesFrom as unknown[] | undefined)?.length)
  ) {
    throw new InvalidArgumentError('volumes are not supported by this daemon');
  }
  return svc.locks.run('names', async () => {
    let name: string;
    if (nameIn) {
      name = validName(nameIn);
      const other = svc.nameTaken(name);
      if (other)
        throw new ConflictError(
          `Conflict. The container name "${name}" is already in use by container "${other.rec.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
    } else {
      name = randomName((n) => !!svc.nameTaken(n));
    }
    hostConfig.Links = legacyLinks.length ? storedLinks(legacyLinks, name) : null;
    const mountPoints = svc.volumes ? await svc.volumes.planCreate(config, hostConfig, (r) => svc.get(r)) : undefined;
    const chain = chainIds(image.layers.map((l) => l.diffId));
    const rec: ContainerRecord = {
      Id: id,
      Created: new Date().toISOString(),
      Name: name,
      Path: path,
      Args: args,
      Config: config,
      HostConfig: hostConfig,
      Image: image.id,
      RootfsParent: chain[chain.length - 1],
      RootfsChain: chain,
      RestartCount: 0,
      ...(networks ? { Networks: networks } : {}),
      ...(mountPoints ? { MountPoints: mountPoints } : {}),
      ...(opts.buildStep ? { BuildStep: true } : {}),
      NoNewPrivileges: noNewPrivilegesOf(hostConfig, !!svc.opts.noNewPrivileges),
      ...(idmap ? { IdMap: idmap } : {}),
    };
    const c: Container = { rec, state: emptyState(), exitWaiters: [], removeWaiters: [] };
    await mkdir(svc.dataDir(id), { recursive: true, mode: 0o700 });
    // Until the container is listed, its snapshot is ours only by this lease (system check would take it).
    const release = svc.images.holdSnapshot(id);
    try {
      await svc.snapshotter.prepare(id, rec.RootfsParent as Digest | undefined, { idmap });
      await svc.save(c);
    } catch (err) {
      await svc.snapshotter.remove(id).catch(() => {});
      await rm(svc.dataDir(id), { recursive: true, force: true });
      await svc.volumes?.removeContainer(c, true).catch(() => {});
      release();
      throw err;
    }
    svc.byId.set(id, c);
    release();
    svc.events.publish('container', 'create', id, svc.attrs(c));
    return { Id: id, Warnings: warnings };
  });
}
