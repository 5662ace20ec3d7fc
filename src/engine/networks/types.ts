/** Networks as the engine keeps them: Docker's network resource, plus the bridge interface behind it. */
import type { CniResult, NetConfList } from '../../network/cni.js';
import type { PortBinding } from '../../network/ports.js';

export interface IpamConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** <data-root>/networks/<id>.json */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The Linux bridge (bridge driver only). */
  BridgeName?: string;
  /**
   * Whether Berth made that bridge (true) or adopted one that was there
   * (false): only a bridge Berth made is ever deleted. Absent in records
   * written before it was kept (see bridgeOwned).
   */
  BridgeCreated?: boolean;
}

/** One network a running container is attached to, as set up (kept for DEL after a crash). */
export interface EndpointState {
  NetworkID: string;
  NetworkName: string;
  EndpointID: string;
  IfName: string;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  /** On a network made with --ipv6 (absent in states written before). */
  IPv6Address?: string;
  IPv6PrefixLen?: number;
  IPv6Gateway?: string;
  MacAddress: string;
  /** The CNI configuration list the ADD ran with, its arguments and its result. */
  Conf: NetConfList;
  Args?: Record<string, string>;
  RuntimeConfig?: Record<string, unknown>;
  Result?: CniResult;
}

/** <exec-root>/network/<container id>.json: a started container's network, written before each step. */
export interface RuntimeState {
  Netns: string;
  Ports: PortBinding[];
  Endpoints: EndpointState[];
}

export interface CreateNetworkRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv6?: boolean | null;
  IPAM?: { Driver?: string; Config?: IpamConfig[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
