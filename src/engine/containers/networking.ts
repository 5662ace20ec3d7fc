/**
 * The seam between containers and networks: what the container service asks
 * of the network service at create, start, exit and remove, and nothing more.
 * (engine/networks implements it; a container service without one runs every
 * container in a private namespace with loopback only.)
 */
import type { HostConfig } from '../../core/wire/host-config.js';
import type { Container, EndpointConfig } from './record.js';

/** What a started container's network gives its OCI spec and /etc files. */
export interface NetAttachment {
  /** 'host', 'private' (runc makes a fresh one with loopback), or the path of a namespace to join. */
  namespace: string;
  /** The container's addresses, for its /etc/hosts. */
  addresses: string[];
  /** Nameservers for resolv.conf instead of the host's (the embedded DNS on user networks). */
  nameservers?: string[];
  dnsOptions?: string[];
}

export interface PendingAttachment {
  /** As NetAttachment.namespace: it exists already. */
  namespace: string;
  /** Everything, once every endpoint is up (rejects if one fails). */
  done: Promise<NetAttachment>;
}

export interface ContainerNetworking {
  /** Check the create request's network settings (404 for an unknown network); the endpoints to record. */
  planCreate(hostConfig: HostConfig, networkingConfig: unknown, macFromConfig?: string): Record<string, EndpointConfig>;
  /**
   * Set up the container's network before its process starts; undone by
   * detach, also on failure. Resolves as soon as the namespace exists, so
   * the runtime can create the container while the endpoints come up.
   */
  attach(c: Container): Promise<PendingAttachment>;
  /** Tear down what attach set up (idempotent; works from what is on disk after a crash; leaves one release() began to finish). */
  detach(c: Container): Promise<void>;
  /** Tear down after the container exited; may return before the teardown ends, where nothing a user sees waits on it. */
  release(c: Container): Promise<void>;
  /** The host's address on the default bridge, which `--add-host name:host-gateway` names. */
  hostGateway(): string | undefined;
  /** A running container's address on the default bridge (for legacy links), if it has one. */
  bridgeAddress(c: Container): string | undefined;
  /** Inspect's NetworkSettings. */
  settings(c: Container): Record<string, unknown>;
  /** The list entry's NetworkSettings.Networks and Ports. */
  endpoints(c: Container): Record<string, unknown>;
  ports(c: Container): unknown[];
}
