/** HostConfig.SecurityOpt (--security-opt) as the spec uses it: no-new-privileges, systempaths=unconfined, seccomp=<profile>. */
import type { HostConfig } from '../../../core/wire/host-config.js';

/** no-new-privileges for a container: its own option when it gives one, else the daemon's default (daemon.json). */
export function noNewPrivilegesOf(hc: HostConfig, daemonDefault: boolean): boolean {
  const own = (hc.SecurityOpt ?? []).some((o) => /^no-new-privileges(?:[=:]|$)/.test(o));
  return own ? securityOpts(hc).noNewPrivileges : daemonDefault;
}

/**
 * The AppArmor profile a container asked for (`--security-opt apparmor=…`). This host has no
 * AppArmor (nor SELinux), so like dockerd on such a host Berth takes any profile and label
 * and applies neither; inspect shows the asked profile until the first start clears it.
 */
export function appArmorProfileOf(hc: HostConfig): string {
  let profile = '';
  for (const o of hc.SecurityOpt ?? []) {
    const m = /^apparmor[=:](.*)$/s.exec(o);
    if (m) profile = m[1];
  }
  return profile;
}

export function securityOpts(hc: HostConfig): { noNewPrivileges: boolean; unmaskedPaths: boolean; seccomp?: string } {
  let noNewPrivileges = false;
  let unmaskedPaths = false;
  let seccomp: string | undefined;
  for (const opt of hc.SecurityOpt ?? []) {
    // Split at the first separator only: a seccomp profile's JSON has plenty of its own.
    const i = opt.search(/[=:]/);
    const k = i < 0 ? opt : opt.slice(0, i);
    const v = i < 0 ? 'true' : opt.slice(i + 1);
    if (k === 'no-new-privileges') noNewPrivileges = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
    if (k === 'systempaths' && v === 'unconfined') unmaskedPaths = true;
    if (k === 'seccomp') seccomp = v;
  }
  return { noNewPrivileges, unmaskedPaths, seccomp };
}
