/**
 * Docker's EndpointSettings with nothing filled in: what inspect and the
 * container list show for a network before (or without) an endpoint on it.
 * Keys in the order of Docker's Go struct. Used by containers' and networks' views.
 */

/** A fresh, empty EndpointSettings (a new object each call, so callers may fill it in). */
export function emptyEndpointSettings() {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
    DriverOpts: null,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}
