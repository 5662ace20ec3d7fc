/**
 * The host's network interfaces, as far as a network's bridge needs them:
 * what kind of link a name is, making a bridge, and deleting one.
 *
 * A bridge name comes from a client (`-o com.docker.network.bridge.name=`)
 * or from daemon.json, and may name something of the host's — its uplink, a
 * VPN, another engine's bridge. So Berth makes the bridge itself, and a link
 * that was there first is either adopted, when it is a Linux bridge (as
 * dockerd does), or refused. Whether Berth made a bridge is kept with its
 * network, and only a bridge Berth made is ever deleted (see the network
 * service).
 */
import { run } from '../core/proc.js';
import { BerthError, SystemError } from '../core/errors.js';

/** Every link of the host by name, with its kind: 'bridge', 'veth', 'dummy', …, '' for a device with none (a NIC). */
export async function hostLinks(): Promise<Map<string, string>> {
  const r = await run('ip', ['-j', '-d', 'link', 'show']);
  if (r.code !== 0) throw new SystemError(`ip link show: ${r.stderr.trim()}`);
  const links = JSON.parse(r.stdout || '[]') as Array<{ ifname: string; linkinfo?: { info_kind?: string } }>;
  return new Map(links.map((l) => [l.ifname, l.linkinfo?.info_kind ?? '']));
}

/** The kind of one link (as hostLinks), or undefined when there is none of that name. */
export async function linkKind(name: string): Promise<string | undefined> {
  return (await hostLinks()).get(name);
}

/** Docker's words for a name that is taken by something that is not a bridge. */
export function notABridge(name: string): BerthError {
  return new BerthError(`existing interface ${name} is not a bridge`, 500);
}

/**
 * Make bridge `name`, or find the Linux bridge of that name that is already
 * there. True when this call made it; false when an existing bridge is
 * adopted; throws when the name belongs to anything else. The kernel decides
 * who was first (EEXIST), so no one can slip a link in between a check and
 * the create.
 */
export async function claimBridge(name: string, mtu?: number): Promise<boolean> {
  for (let tries = 0; tries < 3; tries++) {
    const r = await run('ip', ['link', 'add', 'name', name, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'bridge']);
    if (r.code === 0) return true;
    if (!/File exists/.test(r.stderr)) throw new SystemError(`failed to create bridge ${name}: ${r.stderr.trim()}`);
    const kind = await linkKind(name);
    if (kind === 'bridge') return false;
    if (kind !== undefined) throw notABridge(name);
    // Gone again between the two calls: try to make it once more.
  }
  throw new SystemError(`failed to create bridge ${name}: it keeps appearing and disappearing`);
}

/** Delete bridge `name` — only a bridge: a link of that name of any other kind is not the one we made. */
export async function deleteBridge(name: string): Promise<void> {
  if ((await linkKind(name)) !== 'bridge') return;
  await run('ip', ['link', 'del', 'dev', name, 'type', 'bridge']);
}

/** Take address `cidr` (a.b.c.d/n) off link `name`; nothing when it has no such address. */
export async function removeAddress(name: string, cidr: string): Promise<void> {
  await run('ip', ['addr', 'del', cidr, 'dev', name]);
}
