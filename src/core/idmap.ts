/**
 * A user-namespace id mapping (dockerd's `--userns-remap`): which host uids
 * and gids a container's ids are. Shared by the runtime (the OCI spec's
 * uidMappings/gidMappings), the snapshotters (layers shown or copied with
 * shifted owners) and the engine (volumes and `docker cp` translating owners
 * between the two sides). Written in the OCI spec's own shape.
 */

export interface IdRange {
  containerID: number;
  hostID: number;
  size: number;
}

export interface IdMap {
  uid: IdRange[];
  gid: IdRange[];
}

/** The id the kernel shows for an id outside the mapping (overflowuid/overflowgid). */
export const OVERFLOW_ID = 65534;

function lookup(ranges: IdRange[], id: number, from: 'containerID' | 'hostID', to: 'containerID' | 'hostID'): number | undefined {
  for (const r of ranges) if (id >= r[from] && id < r[from] + r.size) return r[to] + (id - r[from]);
  return undefined;
}

/** A container uid/gid as the host sees it; an unmapped one becomes the overflow id. */
export function hostUid(m: IdMap, uid: number): number {
  return lookup(m.uid, uid, 'containerID', 'hostID') ?? OVERFLOW_ID;
}
export function hostGid(m: IdMap, gid: number): number {
  return lookup(m.gid, gid, 'containerID', 'hostID') ?? OVERFLOW_ID;
}
/** A host uid/gid as the container sees it; one outside the mapping shows as the overflow id, as the kernel shows it. */
export function containerUid(m: IdMap, uid: number): number {
  return lookup(m.uid, uid, 'hostID', 'containerID') ?? OVERFLOW_ID;
}
export function containerGid(m: IdMap, gid: number): number {
  return lookup(m.gid, gid, 'hostID', 'containerID') ?? OVERFLOW_ID;
}

/** The host uid and gid of the container's root. */
export function rootPair(m: IdMap): { uid: number; gid: number } {
  return { uid: hostUid(m, 0), gid: hostGid(m, 0) };
}

/** `<uid>.<gid>` of the container's root: dockerd's name for a remapped daemon's directories. */
export function idMapKey(m: IdMap): string {
  const r = rootPair(m);
  return `${r.uid}.${r.gid}`;
}

/** /proc/<pid>/uid_map text ("inside outside count" per line). */
export function procMapText(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.containerID} ${r.hostID} ${r.size}\n`).join('');
}
