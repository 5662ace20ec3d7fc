/**
 * The container's cgroup as the spec sets it: which cgroup version the host runs,
 * what it can limit, the device rules every unprivileged container starts from,
 * and the `linux.resources` object.
 */
import { existsSync } from 'node:fs';
import type { OciDeviceCgroup, OciResources } from './types.js';

export function cgroupV2(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** Swap can be limited: always on v2, on v1 only with swap accounting on. */
export function swapSupported(): boolean {
  return cgroupV2() || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
}

/**
 * Device cgroup rules for an unprivileged container: deny everything, then
 * allow mknod of any node and the devices runc creates in /dev. (dockerd lists
 * part of these and runc appends the rest; listing all keeps the spec honest.)
 */
export function defaultDeviceRules(): OciDeviceCgroup[] {
  const c = (major: number, minor?: number): OciDeviceCgroup =>
    minor === undefined ? { allow: true, type: 'c', major, access: 'rwm' } : { allow: true, type: 'c', major, minor, access: 'rwm' };
  return [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', access: 'm' },
    { allow: true, type: 'b', access: 'm' }, // mknod of any node
    c(1, 3),
    c(1, 5),
    c(1, 7),
    c(1, 8),
    c(1, 9), // null zero full random urandom
    c(5, 0),
    c(5, 1),
    c(5, 2), // tty console ptmx
    c(136), // /dev/pts/*
  ];
}

/** `linux.resources`: the device rules first, then the limits. */
export function resources(deviceRules: OciDeviceCgroup[], limits: Omit<OciResources, 'devices'>): OciResources {
  return { devices: deviceRules, ...limits };
}
