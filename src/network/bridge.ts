/**
 * The CNI configuration of a Berth bridge network: a Linux bridge with the
 * gateway address (bridge plugin), addresses leased from the network's range
 * (host-local, its leases under our data root), and published ports (portmap,
 * only for an endpoint that publishes any). Masquerading and isolation are
 * Berth's own per-network iptables rules (firewall.ts), not per container.
 */
import { CNI_VERSION, type NetConfList, type PluginConf } from './cni.js';

export interface BridgeNetParams {
  /** The network's name as CNI knows it (unique per daemon: the network ID). */
  cniName: string;
  bridge: string;
  subnet: string;
  gateway: string;
  /** A sub-range to lease from (--ip-range). */
  ipRange?: { start: string; end: string };
  /** The IPv6 subnet and gateway of a network made with --ipv6: a second range, leased alongside. */
  v6?: { subnet: string; gateway: string };
  internal: boolean;
  mtu?: number;
  ipamDir: string;
}

export function bridgeConfList(p: BridgeNetParams, withPorts: boolean): NetConfList {
  const range: Record<string, string> = { subnet: p.subnet, gateway: p.gateway };
  if (p.ipRange) {
    range.rangeStart = p.ipRange.start;
    range.rangeEnd = p.ipRange.end;
  }
  const plugins: PluginConf[] = [
    {
      type: 'bridge',
      bridge: p.bridge,
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      // --mac-address comes as runtimeConfig.mac
      capabilities: { mac: true },
      ...(p.mtu ? { mtu: p.mtu } : {}),
      ipam: {
        type: 'host-local',
        ranges: p.v6 ? [[range], [{ subnet: p.v6.subnet, gateway: p.v6.gateway }]] : [[range]],
        // Internal networks get no default route: nothing leaves them.
        routes: p.internal ? [] : [{ dst: '0.0.0.0/0' }, ...(p.v6 ? [{ dst: '::/0' }] : [])],
        dataDir: p.ipamDir,
      },
    },
  ];
  if (withPorts) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  return { cniVersion: CNI_VERSION, name: p.cniName, plugins };
}
