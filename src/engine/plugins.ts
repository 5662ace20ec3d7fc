/**
 * Managed plugins (`docker plugin …`), as a daemon that has none installed and
 * installs none. Berth's volume, network and log drivers are built in, so the
 * plugin API answers as dockerd answers with no plugins: an empty list, and
 * "plugin "x" not found" for any name. Requests are checked in dockerd's order
 * (reference, filters) so a bad one gets dockerd's words. A pull reaches the
 * registry as dockerd's does — an unreachable registry gives dockerd's error —
 * and a plugin that exists there is refused: Berth cannot run plugins.
 */
import { BerthError, InvalidArgumentError, NotFoundError, SystemError } from '../core/errors.js';
import { parseReference, withDefaultTag, type Reference } from '../core/reference.js';
import type { Filters } from '../core/filters.js';
import { parseGoBool } from '../core/go-values.js';
import { MediaType } from '../core/wire/media-types.js';
import type { AuthConfig } from '../distribution/auth.js';
import { RepositoryClient } from '../distribution/client.js';
import { TransportError } from '../distribution/errors.js';
import type { DistributionService } from './distribution/service.js';

/** 501: what Berth does not do at all. */
export class PluginsUnsupportedError extends BerthError {
  constructor(what: string) {
    super(`${what}: managed plugins are not supported by Berth (its volume, network and log drivers are built in)`, 501);
  }
}

export function notFound(name: string): never {
  throw new NotFoundError(`plugin ${JSON.stringify(name)} not found`);
}

/** GET /plugins: dockerd's filter checks, then the (empty) list. */
export function list(filters: Filters): unknown[] {
  for (const [k, values] of Object.entries(filters)) {
    if (k !== 'capability' && k !== 'enabled') throw new InvalidArgumentError(`Invalid filter '${k}'`);
    if (k === 'enabled' && values.some((v) => parseGoBool(v) === undefined)) throw new InvalidArgumentError(`Invalid filter 'enabled=[${values.join(' ')}]'`);
  }
  return [];
}

/** A plugin reference as dockerd parses one for pull and privileges (500 on a bad one, as dockerd answers). */
function remoteRef(remote: string): Reference {
  try {
    return withDefaultTag(parseReference(remote));
  } catch (err) {
    throw new SystemError(refWords((err as Error).message));
  }
}

/** dockerd 20.10's reference parser does not repeat the name in its "must be lowercase". */
function refWords(message: string): string {
  return message.replace(/repository name \(.*\) must be/, 'repository name must be');
}

/** GET /plugins/privileges: a valid reference; dockerd 20.10 answers an empty list when it cannot fetch the plugin's config. */
export function privileges(remote: string): unknown[] {
  remoteRef(remote);
  return [];
}

/** POST /plugins/pull: look the plugin up on its registry (dockerd's errors when that fails), then refuse to install it. */
export async function pull(dist: DistributionService, remote: string, auth: AuthConfig | undefined): Promise<never> {
  const ref = remoteRef(remote);
  try {
    await dist.withEndpoint(ref.domain, async (ep) => {
      const client = new RepositoryClient(ep, ref.path, auth);
      const res = await client.request('HEAD', `/v2/${ref.path}/manifests/${ref.digest ?? ref.tag}`, {
        headers: { Accept: `${MediaType.dockerManifest}, ${MediaType.ociManifest}` },
      });
      res.resume();
      if ((res.statusCode ?? 0) >= 400) throw new SystemError(`${ref.domain}/${ref.path}:${ref.tag ?? ''}: not found`);
    });
  } catch (err) {
    const why = err instanceof TransportError ? `failed to do request: ${err.message}` : (err as Error).message;
    throw new SystemError(`error resolving plugin reference: ${why}`);
  }
  throw new PluginsUnsupportedError(`cannot install plugin ${JSON.stringify(remote)}`);
}

/** POST /plugins/create?name=: the name as dockerd parses it, then the archive (an empty one has no rootfs), then refused. */
export function create(name: string, archive: Buffer): never {
  try {
    parseReference(name);
  } catch (err) {
    const detail = refWords((err as Error).message).replace(/^invalid reference format/, '');
    throw new SystemError(`failed to parse reference ${name}: invalid reference format${detail}`);
  }
  if (archive.length === 0) throw new SystemError('no rootfs found: EOF');
  throw new PluginsUnsupportedError(`cannot create plugin ${JSON.stringify(name)}`);
}

/** The name dockerd reports for a plugin it looked up by reference (upgrade normalises to name:tag). */
export function taggedName(name: string): string {
  try {
    const r = withDefaultTag(parseReference(name));
    return r.digest ? name : `${name.replace(/:[^/:]*$/, '')}:${r.tag}`;
  } catch {
    return name;
  }
}
