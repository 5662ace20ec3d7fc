/**
 * Rootless mode: berthd running as an ordinary user, as root of a user
 * namespace that rootlesskit made (bin/berthd-rootless). Several layers
 * behave differently there — overlayfs keeps its attributes in the user.*
 * namespace, published ports are asked of rootlesskit's port driver, limits
 * need cgroups the host delegated — so the mode is set once at the daemon's
 * start and read where it matters. Undefined: berthd runs as real root.
 */
import { readFileSync } from 'node:fs';

export interface RootlessMode {
  /** rootlesskit's --state-dir: its api.sock answers port requests. */
  stateDir: string;
  /** The host uid that owns the namespace (rootlesskit's parent). */
  parentUid: number;
  /** Whether cgroups were delegated to the user (a writable cgroup v2 subtree); without them no limit applies. */
  cgroupsDelegated: boolean;
  /** The delegated cgroup v2 subtree containers' cgroups go under (with cgroupsDelegated). */
  cgroupParent?: string;
}

let mode: RootlessMode | undefined;

export function setRootless(m: RootlessMode | undefined): void {
  mode = m;
}

export function rootless(): RootlessMode | undefined {
  return mode;
}

/** Whether this process runs in a user namespace (its uid map is not the whole identity map). */
export function inUserNamespace(): boolean {
  try {
    const lines = readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n');
    return !(lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0]!));
  } catch {
    return false;
  }
}
