/** HostConfig.SecurityOpt (--security-opt) as the spec uses it: no-new-privileges, systempaths=unconfined, seccomp=<profile>. */
import type { HostConfig } from '../../../core/wire/host-config.js';

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
