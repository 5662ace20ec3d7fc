/** The spec's `linux.namespaces`: a new namespace, the host's (none listed), or one joined by path. */
import type { NamespacesInput, OciNamespace, OciNamespaceType } from './types.js';

function nsEntry(type: OciNamespaceType, mode: string | undefined): OciNamespace[] {
  if (mode === 'host') return [];
  if (!mode || mode === 'private') return [{ type }];
  return [{ type, path: mode }]; // join an existing namespace (another container's)
}

export function namespaces(ns: NamespacesInput): OciNamespace[] {
  return [
    { type: 'mount' },
    ...nsEntry('network', ns.network),
    ...nsEntry('uts', ns.uts),
    ...nsEntry('pid', ns.pid),
    ...nsEntry('ipc', ns.ipc),
    ...(ns.cgroup === 'private' ? [{ type: 'cgroup' as const }] : []),
    ...(ns.user ? [ns.user.path ? { type: 'user' as const, path: ns.user.path } : { type: 'user' as const }] : []),
  ];
}
