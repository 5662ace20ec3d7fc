/**
 * Linux capabilities: the names the kernel defines, the ones this host can grant,
 * and the spec's capability sets for a list of them.
 */
import { readFileSync } from 'node:fs';
import type { OciCapabilities } from './types.js';

/** Every capability Linux defines, indexed by its number (linux/capability.h). */
export const KNOWN_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

let hostCapsCache: string[] | undefined;
/**
 * "All" capabilities as Docker means it: the known ones this kernel supports
 * (cap_last_cap). Also limited to our own bounding set: a daemon that lacks a
 * capability (nested in another container) cannot grant it, and runc would
 * fail the whole --privileged container over it.
 */
export function allCaps(): string[] {
  if (!hostCapsCache) {
    let last = KNOWN_CAPS.length - 1;
    let bounding = -1n; // all bits
    try {
      const n = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
      if (Number.isInteger(n) && n >= 0) last = Math.min(last, n);
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) bounding = BigInt(`0x${m[1]}`);
    } catch {
      /* not Linux or /proc hidden: assume all known */
    }
    hostCapsCache = KNOWN_CAPS.slice(0, last + 1).filter((_, i) => (bounding >> BigInt(i)) & 1n);
  }
  return hostCapsCache;
}

export function capSet(caps: string[]): OciCapabilities {
  // Not inheritable/ambient: current Docker leaves those empty so exec'd
  // binaries of non-root users don't keep capabilities.
  return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}
