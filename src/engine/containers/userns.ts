/**
 * A container's user namespace under `--userns-remap`: which mapping it gets
 * (none with `--userns=host`, dockerd's opt-out), dockerd's refusals of what
 * cannot run remapped, and the owners `docker cp` translates between the
 * container's ids and the host's on the way in and out.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../../core/errors.js';
import { containerGid, containerUid, hostGid, hostUid, type IdMap } from '../../core/idmap.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { rewriteTar } from '../../archive/pack.js';

/**
 * The mapping a new container runs with. A build step's RUN container is
 * remapped as any other (dockerd's too); its layer is archived back to the
 * container's ids (build/layers.ts), so the image is the same either way.
 */
export function containerIdMap(h: HostConfig, remap: IdMap | undefined): IdMap | undefined {
  const mode = typeof h.UsernsMode === 'string' ? h.UsernsMode : '';
  if (mode !== '' && mode !== 'host') throw new InvalidArgumentError(`invalid USER mode: ${mode}`);
  if (!remap || mode === 'host') return undefined;
  if (h.Privileged)
    throw new InvalidArgumentError(
      'privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode',
    );
  if (h.NetworkMode === 'host') throw new InvalidArgumentError("cannot share the host's network namespace when user namespaces are enabled");
  if (h.PidMode === 'host') throw new InvalidArgumentError('cannot share the host PID namespace when user namespaces are enabled');
  return remap;
}

/** A tar read from a remapped container's files: host owners back to the ids the container sees. */
export function toContainerOwners(input: Readable, map: IdMap): Readable {
  return rewriteTar(input, (h) => ({ ...h, uid: containerUid(map, h.uid ?? 0), gid: containerGid(map, h.gid ?? 0) }));
}

/** A tar to unpack into a remapped container: its owners (container ids) to the host ids they are. */
export function toHostOwners(input: Readable, map: IdMap): Readable {
  return rewriteTar(input, (h) => ({ ...h, uid: hostUid(map, h.uid ?? 0), gid: hostGid(map, h.gid ?? 0) }));
}
