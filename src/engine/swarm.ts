/**
 * Swarm mode, as a node that is in no swarm and never joins one. Berth runs
 * containers on one node; dockerd on a node outside a swarm answers every
 * cluster call (swarm, nodes, services, tasks, secrets, configs) with 503 and
 * the words below, and clients rely on that: docker-py's `leave_swarm(force=True)`
 * tidies up by expecting "not part of a swarm", `docker info` reads
 * `Swarm.LocalNodeState: inactive`. Init and join are validated as dockerd
 * validates them (so a bad request gets dockerd's 400), then refused with the
 * same 503 status dockerd uses for every swarm-state error.
 */
import { BerthError, InvalidArgumentError } from '../core/errors.js';

/** 503: dockerd's "not available" errors for swarm state. */
export class SwarmUnavailableError extends BerthError {
  constructor(message: string) {
    super(message, 503);
  }
}

export const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_SWARM = 'This node is not part of a swarm';
/** Berth's refusal of init/join: not a dockerd message (dockerd would form a swarm), in the form of its swarm-state errors. */
export const NO_SWARM_MODE =
  'This node cannot be part of a swarm: swarm mode is not supported by Berth. Use "docker compose" to run multi-container applications on this node.';

/** The swarm block of GET /info for a node outside any swarm. */
export function swarmInfo(): Record<string, unknown> {
  return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
}

/** Every cluster read or write: this node manages no swarm. */
export function notManager(): never {
  throw new SwarmUnavailableError(NOT_MANAGER);
}

/** POST /swarm/leave, forced or not. */
export function leave(): never {
  throw new SwarmUnavailableError(NOT_IN_SWARM);
}

/** dockerd's validateAddr: only the empty address is refused (other forms are passed on as given). */
function checkAddr(field: string, addr: unknown): void {
  if (addr === undefined || addr === null || addr === '') throw new InvalidArgumentError(`invalid ${field} "": invalid empty address`);
}

export interface InitRequest {
  ListenAddr?: string;
  Spec?: { Name?: string };
}
export interface JoinRequest {
  ListenAddr?: string;
  RemoteAddrs?: string[];
}

export function init(req: InitRequest): never {
  checkAddr('ListenAddr', req.ListenAddr);
  const name = req.Spec?.Name ?? '';
  if (name !== '' && name !== 'default') throw new InvalidArgumentError('swarm spec must be named "default"');
  throw new SwarmUnavailableError(NO_SWARM_MODE);
}

export function join(req: JoinRequest): never {
  checkAddr('ListenAddr', req.ListenAddr);
  if (!req.RemoteAddrs?.length) throw new InvalidArgumentError('at least 1 RemoteAddr is required to join');
  for (const a of req.RemoteAddrs) if (a === '') throw new InvalidArgumentError('invalid remoteAddr "": invalid empty address');
  throw new SwarmUnavailableError(NO_SWARM_MODE);
}
