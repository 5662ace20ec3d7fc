/**
 * A container's limits from HostConfig: memory, swap, CPU, pids and block IO
 * for the cgroup (with dockerd's checks and defaults), and ulimits as rlimits.
 */
import { InvalidArgumentError } from '../../../core/errors.js';
import type { HostConfig } from '../../../core/wire/host-config.js';
import { cgroupV2, swapSupported } from '../../../runtime/spec/cgroups.js';
import type { OciResources, OciRlimit } from '../../../runtime/spec/types.js';

const pos = (n: number | null | undefined): n is number => typeof n === 'number' && n > 0;

export function resourceLimits(hc: HostConfig): Omit<OciResources, 'devices'> {
  const r: Omit<OciResources, 'devices'> = {};

  const memory: NonNullable<OciResources['memory']> = {};
  if (pos(hc.Memory)) memory.limit = hc.Memory;
  if (pos(hc.MemoryReservation)) memory.reservation = hc.MemoryReservation;
  if (pos(hc.MemorySwap) && !pos(hc.Memory)) {
    throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  // dockerd: a memory limit without a swap setting allows as much swap as memory.
  const swap = pos(hc.Memory) && !hc.MemorySwap ? hc.Memory * 2 : hc.MemorySwap;
  if (swap && (swap > 0 || swap === -1) && swapSupported()) {
    if (swap > 0 && pos(hc.Memory) && swap < hc.Memory) {
      throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    memory.swap = swap;
  }
  // cgroup v2 has no OOM-killer switch; dockerd drops the setting there too.
  if (hc.OomKillDisable && !cgroupV2()) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if (pos(hc.NanoCpus)) {
    if (pos(hc.CpuPeriod)) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    if (pos(hc.CpuQuota)) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
    cpu.period = 100_000; // the CFS default period, as dockerd uses for --cpus
    cpu.quota = Math.floor((hc.NanoCpus * 100_000) / 1e9);
  }
  if (pos(hc.CpuShares)) cpu.shares = hc.CpuShares;
  if (pos(hc.CpuPeriod)) cpu.period = hc.CpuPeriod;
  if (pos(hc.CpuQuota)) cpu.quota = hc.CpuQuota;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  if (pos(hc.PidsLimit)) r.pids = { limit: hc.PidsLimit };
  if (pos(hc.BlkioWeight)) r.blockIO = { weight: hc.BlkioWeight };
  return r;
}

/** --ulimit nofile=1024:2048 → RLIMIT_NOFILE; -1 stays (unlimited). */
export function rlimits(hc: HostConfig): OciRlimit[] | undefined {
  if (!hc.Ulimits?.length) return undefined;
  return hc.Ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}
