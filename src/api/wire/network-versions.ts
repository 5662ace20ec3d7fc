/**
 * Container views' network endpoints by API version (moby daemon/inspect.go):
 * before 1.45 the Aliases of an endpoint on a user-defined network also hold
 * the container's short ID and hostname; from 1.45 they are exactly what the
 * client asked for (DNSNames holds the rest).
 */
import { compareApiVersions } from '../../core/version.js';

const NOT_USER_DEFINED = /^(bridge|host|none|default|container:.*)$/;

export function endpointsForVersion(inspect: Record<string, unknown>, version: string): Record<string, unknown> {
  if (compareApiVersions(version, '1.45') >= 0) return inspect;
  const nets = (inspect.NetworkSettings as { Networks?: Record<string, { Aliases?: string[] | null }> } | undefined)?.Networks;
  if (!nets) return inspect;
  const extra = [String(inspect.Id).slice(0, 12), String((inspect.Config as { Hostname?: string } | undefined)?.Hostname ?? '')].filter(Boolean);
  for (const [name, ep] of Object.entries(nets)) {
    if (NOT_USER_DEFINED.test(name)) continue;
    ep.Aliases = [...new Set([...(ep.Aliases ?? []), ...extra])];
  }
  return inspect;
}

/** A container view as a client of `version` knows it: endpoints' DNSNames came with API 1.44. */
export function dnsNamesForVersion(view: Record<string, unknown>, version: string): Record<string, unknown> {
  if (compareApiVersions(version, '1.44') >= 0) return view;
  const nets = (view.NetworkSettings as { Networks?: Record<string, Record<string, unknown>> } | undefined)?.Networks ?? {};
  for (const ep of Object.values(nets)) delete ep.DNSNames;
  return view;
}
