/**
 * `--link target[:alias]`, as dockerd keeps it. On the default bridge a link
 * is legacy: stored in HostConfig.Links as "/target:/linker/alias", it gives
 * the linking container an /etc/hosts line and the target's address, ports
 * and environment in variables. On a user-defined network it is only a name:
 * the network's embedded DNS answers the alias to the linking container
 * (engine/networks keeps it in the endpoint's Links as "target:alias").
 */
import { BerthError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { Container } from './record.js';

export interface LinkSpec {
  target: Container;
  alias: string;
}

/** Parse "target[:alias]" entries; every target must exist (Docker's 400 otherwise). */
export function parseLinks(links: string[] | null | undefined, lookup: (ref: string) => Container): LinkSpec[] {
  return (links ?? []).map((l) => {
    const [ref = '', alias] = l.replace(/^\//, '').split(':');
    if (!ref) throw new InvalidArgumentError(`invalid link: ${JSON.stringify(l)}`);
    let target: Container;
    try {
      target = lookup(ref);
    } catch (e) {
      if (e instanceof NotFoundError) throw new InvalidArgumentError(`could not get container for ${ref}: ${e.message}`);
      throw e;
    }
    return { target, alias: (alias || target.rec.Name.slice(1)).replace(/^.*\//, '') };
  });
}

/** HostConfig.Links as dockerd stores them: "/target:/linker/alias". */
export function storedLinks(specs: LinkSpec[], linkerName: string): string[] {
  return specs.map((s) => `${s.target.rec.Name}:/${linkerName.replace(/^\//, '')}/${s.alias}`);
}

/** Stored links back to targets and aliases ("/db:/web/alias"). */
export function linksOf(c: Container, lookup: (ref: string) => Container): LinkSpec[] {
  return (c.rec.HostConfig.Links ?? []).map((l) => {
    const [target = '', path = ''] = l.split(':');
    const alias = path.slice(path.lastIndexOf('/') + 1);
    try {
      return { target: lookup(target.replace(/^\//, '')), alias };
    } catch {
      throw new BerthError(`Cannot link to a non running container: ${target} AS ${c.rec.Name}/${alias}`, 500);
    }
  });
}

/** The /etc/hosts lines and variables a started container gets from its legacy links. */
export function linkEffects(c: Container, specs: LinkSpec[], addressOf: (target: Container) => string | undefined): { hosts: string[]; env: string[] } {
  const hosts: string[] = [];
  const env: string[] = [];
  for (const { target, alias } of specs) {
    const ip = target.state.Running ? addressOf(target) : undefined;
    if (!ip) throw new BerthError(`Cannot link to a non running container: ${target.rec.Name} AS ${c.rec.Name}/${alias}`, 500);
    const names = [...new Set([alias, target.rec.Config.Hostname ?? target.rec.Id.slice(0, 12), target.rec.Name.slice(1)])];
    hosts.push(`${ip}\t${names.join(' ')}`);
    const prefix = alias.toUpperCase().replace(/-/g, '_');
    env.push(`${prefix}_NAME=${c.rec.Name}/${alias}`);
    const ports = Object.keys(target.rec.Config.ExposedPorts ?? {})
      .map((p) => {
        const [port = '', proto = 'tcp'] = p.split('/');
        return { port: Number(port), proto };
      })
      .filter((p) => Number.isInteger(p.port) && p.port > 0)
      .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
    if (ports[0]) env.push(`${prefix}_PORT=${ports[0].proto}://${ip}:${ports[0].port}`);
    for (const { port, proto } of ports) {
      const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
      env.push(`${key}=${proto}://${ip}:${port}`, `${key}_ADDR=${ip}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
    }
    for (const kv of target.rec.Config.Env ?? []) {
      const i = kv.indexOf('=');
      if (i <= 0) continue;
      const k = kv.slice(0, i);
      if (k === 'HOME' || k === 'PATH') continue; // set by every image, nothing the linked container needs
      env.push(`${prefix}_ENV_${k}=${kv.slice(i + 1)}`);
    }
  }
  return { hosts, env };
}

/**
 * A container's links after a container was renamed from `oldName` to
 * `newName` (both with their leading slash): as the target of a legacy link
 * ("/old:/linker/alias"), as the linker ("/target:/old/alias"), and as the
 * target of a user-network link ("old:alias"). Docker keeps links by
 * container, so a rename carries them along. Null when nothing changed.
 */
export function renamedLinks(c: Container, oldName: string, newName: string): { legacy: string[] | null; networks: Record<string, string[] | null> } | null {
  let changed = false;
  const legacy = (c.rec.HostConfig.Links ?? []).map((l) => {
    const [target = '', path = ''] = l.split(':');
    const linker = path.slice(0, path.lastIndexOf('/'));
    const next = `${target === oldName ? newName : target}:${linker === oldName ? newName : linker}${path.slice(linker.length)}`;
    if (next !== l) changed = true;
    return next;
  });
  const networks: Record<string, string[] | null> = {};
  for (const [net, ep] of Object.entries(c.rec.Networks ?? {})) {
    networks[net] =
      ep.Links?.map((l) => {
        const [target = '', alias = ''] = l.split(':');
        if (target !== oldName.slice(1)) return l;
        changed = true;
        return `${newName.slice(1)}:${alias}`;
      }) ?? null;
  }
  return changed ? { legacy: c.rec.HostConfig.Links ? legacy : null, networks } : null;
}
