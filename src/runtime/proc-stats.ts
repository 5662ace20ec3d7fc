/**
 * Counters /proc gives outside any cgroup, for the stats endpoint: a container's
 * interfaces (/proc/<pid>/net/dev, inside its network namespace) and the host's CPU
 * time and online CPUs (/proc/stat), read the way docker reads them.
 */
import { readFile } from 'node:fs/promises';

/** /proc/stat and cpuacct.stat count USER_HZ ticks; Linux fixes USER_HZ at 100 for user space. */
export const TICK_NS = 1e9 / 100;

/** A counter field; 0 when it is not a number. */
const num = (s: string): number => {
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
};

export interface NetDevStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** Parse /proc/<pid>/net/dev (two header lines, then `iface: 8 rx fields 8 tx fields`); skips lo. */
export function parseNetDev(text: string): Record<string, NetDevStats> {
  const out: Record<string, NetDevStats> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (name === 'lo' || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    out[name] = {
      rx_bytes: f[0],
      rx_packets: f[1],
      rx_errors: f[2],
      rx_dropped: f[3],
      tx_bytes: f[8],
      tx_packets: f[9],
      tx_errors: f[10],
      tx_dropped: f[11],
    };
  }
  return out;
}

/** Interface counters inside the network namespace of `pid`, without lo. */
export async function readNetDev(pid: number): Promise<Record<string, NetDevStats>> {
  return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
}

/**
 * Host CPU time and online CPUs from /proc/stat, as docker computes them: the first seven
 * fields of the `cpu` line (user nice system idle iowait irq softirq) in ns, and the number
 * of `cpuN` lines.
 */
export function parseProcStat(text: string): { systemCpuNs: number; onlineCpus: number } {
  let systemCpuNs = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const ticks = line
        .trim()
        .split(/\s+/)
        .slice(1, 8)
        .reduce((s, v) => s + num(v), 0);
      systemCpuNs = ticks * TICK_NS;
    } else if (/^cpu\d/.test(line)) onlineCpus++;
  }
  return { systemCpuNs, onlineCpus };
}

export async function readProcStat(): Promise<{ systemCpuNs: number; onlineCpus: number }> {
  return parseProcStat(await readFile('/proc/stat', 'utf8'));
}

/** Host CPU time in ns (docker's system_cpu_usage). */
export async function systemCpuUsageNs(): Promise<number> {
  return (await readProcStat()).systemCpuNs;
}
