/**
 * A remapped container's writable layer (`--userns-remap`) holds host ids:
 * its files were made by the container's root, which is a subordinate uid on
 * the host. An image layer made from it (a RUN step, `docker commit`) must
 * hold the ids the container saw, as if it had run unmapped, so that the same
 * Dockerfile gives the same layer on a remapped daemon and on one that is not.
 * Owners are in the tar headers; ids also hide in two kinds of xattrs, which
 * the kernel hands to the host in host ids: a namespaced file capability
 * (v3, with the root uid it belongs to) and POSIX ACL entries.
 */
import { containerGid, containerUid, type IdMap } from '../core/idmap.js';

const CAP_XATTR = 'security.capability';
const ACL_XATTRS = new Set(['system.posix_acl_access', 'system.posix_acl_default']);
const CAP_REVISION_MASK = 0xff000000;
const CAP_REVISION_2 = 0x02000000;
const CAP_REVISION_3 = 0x03000000;
const V2_SIZE = 20;
const V3_SIZE = 24;
const ACL_VERSION = 2;
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

/** A file capability as the container sees it: v3 owned by the container's root becomes the v2 an unmapped root writes. */
export function capToContainer(v: Buffer, map: IdMap): Buffer {
  if (v.length !== V3_SIZE) return v;
  const magic = v.readUInt32LE(0);
  if ((magic & CAP_REVISION_MASK) >>> 0 !== CAP_REVISION_3) return v;
  const rootid = containerUid(map, v.readUInt32LE(20));
  if (rootid === 0) {
    const out = Buffer.from(v.subarray(0, V2_SIZE));
    out.writeUInt32LE(((magic & ~CAP_REVISION_MASK) | CAP_REVISION_2) >>> 0, 0);
    return out;
  }
  const out = Buffer.from(v);
  out.writeUInt32LE(rootid, 20);
  return out;
}

/** A POSIX ACL xattr (version 2: 4-byte header, 8-byte entries) with its named users and groups as the container's ids. */
export function aclToContainer(v: Buffer, map: IdMap): Buffer {
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== ACL_VERSION) return v;
  const out = Buffer.from(v);
  for (let off = 4; off < out.length; off += 8) {
    const tag = out.readUInt16LE(off);
    if (tag === ACL_USER) out.writeUInt32LE(containerUid(map, out.readUInt32LE(off + 4)), off + 4);
    else if (tag === ACL_GROUP) out.writeUInt32LE(containerGid(map, out.readUInt32LE(off + 4)), off + 4);
  }
  return out;
}

/** One entry's xattrs with the ids in them turned into the container's. */
export function xattrsToContainer(xa: Map<string, Buffer>, map: IdMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of xa) out.set(k, k === CAP_XATTR ? capToContainer(v, map) : ACL_XATTRS.has(k) ? aclToContainer(v, map) : v);
  return out;
}
