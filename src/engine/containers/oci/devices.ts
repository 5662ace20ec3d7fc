/**
 * A container's devices from --privileged, --device and --device-cgroup-rule:
 * the nodes it gets and the device cgroup rules that allow them.
 */
import { InvalidArgumentError } from '../../../core/errors.js';
import type { HostConfig } from '../../../core/wire/host-config.js';
import { defaultDeviceRules } from '../../../runtime/spec/cgroups.js';
import { hostDevices, mappedDevices } from '../../../runtime/spec/devices.js';
import type { OciDevice, OciDeviceCgroup } from '../../../runtime/spec/types.js';

/** --device-cgroup-rule 'c 1:3 rwm' (HostConfig.DeviceCgroupRules). */
function cgroupRules(rules: unknown): OciDeviceCgroup[] {
  if (!Array.isArray(rules)) return [];
  return rules.map((r) => {
    const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(String(r));
    if (!m) throw new InvalidArgumentError(`invalid device cgroup rule format: '${String(r)}'`);
    const rule: OciDeviceCgroup = { allow: true, type: m[1] as 'a' | 'c' | 'b' };
    if (m[2] !== '*') rule.major = Number(m[2]);
    if (m[3] !== '*') rule.minor = Number(m[3]);
    rule.access = m[4];
    return rule;
  });
}

/** Privileged: every host device, all allowed. Otherwise the defaults plus --device host[:container[:perms]] and the extra rules. */
export function containerDevices(hc: HostConfig): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  if (hc.Privileged) return { devices: hostDevices(), rules: [{ allow: true, access: 'rwm' }] };
  const mapped = mappedDevices(
    (hc.Devices ?? []).map((m) => ({ hostPath: m.PathOnHost, containerPath: m.PathInContainer || m.PathOnHost, access: m.CgroupPermissions || 'rwm' })),
  );
  return { devices: mapped.devices, rules: [...defaultDeviceRules(), ...mapped.rules, ...cgroupRules(hc.DeviceCgroupRules)] };
}
