/**
 * The extended attributes overlayfs keeps its own state in (an opaque
 * directory's marker). As real root they live in trusted.overlay.*; in a
 * user namespace (rootless mode) trusted.* cannot be written, so overlayfs is
 * mounted with `userxattr` and reads user.overlay.* instead. Layer contents
 * never set either kind: that would let a layer rewrite how the stack reads.
 */
import { rootless } from '../core/rootless.js';

export function overlayOpaqueAttr(): string {
  return rootless() ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
}

/** Whether an attribute is one overlayfs reads in the current mode (never copied from or into a layer tar). */
export function isOverlayAttr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || (rootless() !== undefined && name.startsWith('user.overlay.'));
}
