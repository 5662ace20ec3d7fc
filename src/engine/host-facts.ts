/**
 * What the host supports, read the way dockerd's sysinfo reads it (cgroup
 * control files, bridge netfilter sysctls), and the OCI runtime's version,
 * for GET /info and GET /version. Clients decide what to offer from these
 * (docker-py skips kernel-memory tests, compose warns about swap limits), so
 * they must say what the host can do rather than a fixed "true". Read once:
 * none of it changes while the daemon runs.
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { execFile } from 'node:child_process';

export interface HostFacts {
  cgroupVersion: '1' | '2';
  memoryLimit: boolean;
  swapLimit: boolean;
  kernelMemory: boolean;
  kernelMemoryTCP: boolean;
  oomKillDisable: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuSet: boolean;
  pidsLimit: boolean;
  ipv4Forwarding: boolean;
  bridgeNfIptables: boolean;
  bridgeNfIp6tables: boolean;
}

const CG = '/sys/fs/cgroup';

function sysctlOn(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

let facts: HostFacts | undefined;

export function hostFacts(): HostFacts {
  if (facts) return facts;
  let v2 = false;
  try {
    v2 = statfsSync(CG).type === 0x63677270;
  } catch {
    /* no cgroup fs: v1 checks all fail */
  }
  if (v2) {
    let ctl = '';
    try {
      ctl = readFileSync(`${CG}/cgroup.controllers`, 'utf8');
    } catch {
      /* none */
    }
    const has = (c: string) => ctl.split(/\s+/).includes(c);
    facts = {
      cgroupVersion: '2',
      memoryLimit: has('memory'),
      swapLimit: has('memory'),
      kernelMemory: false,
      kernelMemoryTCP: false,
      oomKillDisable: false,
      cpuCfsPeriod: has('cpu'),
      cpuCfsQuota: has('cpu'),
      cpuShares: has('cpu'),
      cpuSet: has('cpuset'),
      pidsLimit: has('pids'),
      ipv4Forwarding: sysctlOn('/proc/sys/net/ipv4/ip_forward'),
      bridgeNfIptables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      bridgeNfIp6tables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
    };
  } else {
    const f = (p: string) => existsSync(`${CG}/${p}`);
    facts = {
      cgroupVersion: '1',
      memoryLimit: f('memory/memory.limit_in_bytes'),
      swapLimit: f('memory/memory.memsw.limit_in_bytes'),
      kernelMemory: f('memory/memory.kmem.limit_in_bytes'),
      kernelMemoryTCP: f('memory/memory.kmem.tcp.limit_in_bytes'),
      oomKillDisable: f('memory/memory.oom_control'),
      cpuCfsPeriod: f('cpu/cpu.cfs_period_us'),
      cpuCfsQuota: f('cpu/cpu.cfs_quota_us'),
      cpuShares: f('cpu/cpu.shares'),
      cpuSet: f('cpuset/cpuset.cpus'),
      pidsLimit: f('pids/pids.max') || f('pids'),
      ipv4Forwarding: sysctlOn('/proc/sys/net/ipv4/ip_forward'),
      bridgeNfIptables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      bridgeNfIp6tables: sysctlOn('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
    };
  }
  return facts;
}

export interface RuntimeVersion {
  version: string;
  commit: string;
}

const runtimeVersions = new Map<string, Promise<RuntimeVersion>>();

/** `runc --version`: its version and commit lines (empty when the binary cannot tell). */
export function runtimeVersion(binary: string): Promise<RuntimeVersion> {
  let p = runtimeVersions.get(binary);
  if (!p) {
    p = new Promise((resolve) => {
      execFile(binary, ['--version'], { timeout: 5000 }, (err, stdout) => {
        if (err) {
          resolve({ version: '', commit: '' });
          return;
        }
        resolve({ version: /version\s+(\S+)/.exec(stdout)?.[1] ?? '', commit: /commit:\s*(\S+)/.exec(stdout)?.[1] ?? '' });
      });
    });
    runtimeVersions.set(binary, p);
  }
  return p;
}
