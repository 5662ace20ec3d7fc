/**
 * The metrics' readers and mapping against fake cgroup trees in the kernel's v2 and v1
 * formats (memory.current, memory.stat, cpu.stat, io.stat, memory.events, cpu.max,
 * cpu.weight, cgroup.procs), the cAdvisor families built from them, and the history ring.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCgroupStats } from '../../src/runtime/cgroups.js';
import { countLines, cpuWeightToShares, parseCpuMax, readCgroupSpec } from '../../src/runtime/cgroup-spec.js';
import { devNameFromUevent } from '../../src/runtime/block-devices.js';
import { type ContainerSample, containerFamilies, memoryFigures, sanitizeLabelName } from '../../src/engine/metrics/cadvisor.js';
import { HistoryRing, POINT_BYTES } from '../../src/engine/history/ring.js';
import { HISTORY_CEILING_BYTES } from '../../src/engine/history/service.js';
import { writeTree } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-metrics-cg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CG = '/berth/0123abcd';
const V2 = join(tmp, 'v2');
writeTree(V2, {
  'cgroup.controllers': 'cpuset cpu io memory pids\n',
  [`${CG}/memory.current`]: '10485760\n',
  [`${CG}/memory.max`]: '2147483648\n',
  [`${CG}/memory.stat`]:
    'anon 6291456\nfile 4194304\nkernel 102400\nshmem 0\nactive_anon 6291456\ninactive_anon 0\nactive_file 1048576\ninactive_file 3145728\n',
  [`${CG}/memory.events`]: 'low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n',
  [`${CG}/cpu.stat`]: 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 3000\n',
  [`${CG}/cpu.max`]: '50000 100000\n',
  [`${CG}/cpu.weight`]: '100\n',
  [`${CG}/io.stat`]: '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
  [`${CG}/pids.current`]: '3\n',
  [`${CG}/pids.max`]: 'max\n',
  [`${CG}/cgroup.procs`]: '101\n102\n',
});

test('v2: cpu.max, cpu.weight → shares, memory.events oom_kill, cgroup.procs', async () => {
  assert.deepEqual(await readCgroupSpec(CG, { root: V2 }), { cpuQuota: 50000, cpuPeriod: 100000, cpuShares: 2597, oomKills: 2, processes: 2 });
  writeFileSync(join(V2, CG, 'cpu.max'), 'max 100000\n');
  writeFileSync(join(V2, CG, 'cpu.weight'), '1\n');
  const s = await readCgroupSpec(CG, { root: V2 });
  assert.equal(s.cpuQuota, 0, 'max: no quota');
  assert.equal(s.cpuPeriod, 100000);
  assert.equal(s.cpuShares, 2);
  writeFileSync(join(V2, CG, 'cpu.max'), '50000 100000\n');
  writeFileSync(join(V2, CG, 'cpu.weight'), '100\n');
});

test('cpu.weight ↔ shares as cAdvisor converts, cpu.max and cgroup.procs parsing', () => {
  // runc writes weight = 1 + ((shares - 2) * 9999) / 262142; cAdvisor inverts it.
  assert.equal(cpuWeightToShares(1), 2);
  assert.equal(cpuWeightToShares(10000), 262144);
  assert.equal(cpuWeightToShares(39), 2 + Math.floor((38 * 262142) / 9999)); // runc's weight for --cpu-shares 1024
  assert.equal(cpuWeightToShares(0), 0);
  assert.equal(cpuWeightToShares(10001), 0);
  assert.deepEqual(parseCpuMax('max 100000'), { quota: 0, period: 100000 });
  assert.deepEqual(parseCpuMax('25000 50000\n'), { quota: 25000, period: 50000 });
  assert.deepEqual(parseCpuMax(undefined), { quota: 0, period: 0 });
  assert.equal(countLines('1\n2\n\n3\n'), 3);
  assert.equal(countLines(''), 0);
  assert.equal(devNameFromUevent('MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n'), '/dev/sda');
  assert.equal(devNameFromUevent('MAJOR=8\n'), '');
});

const V1 = join(tmp, 'v1');
writeTree(V1, {
  [`cpu${CG}/cpu.cfs_quota_us`]: '-1\n',
  [`cpu${CG}/cpu.cfs_period_us`]: '100000\n',
  [`cpu${CG}/cpu.shares`]: '512\n',
  [`memory${CG}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 4\n',
  [`pids${CG}/cgroup.procs`]: '7\n',
});

test('v1: cfs quota -1 is no quota, shares as written, oom_control oom_kill', async () => {
  assert.deepEqual(await readCgroupSpec(CG, { root: V1, version: 1, mountinfo: '' }), {
    cpuQuota: 0,
    cpuPeriod: 100000,
    cpuShares: 512,
    oomKills: 4,
    processes: 1,
  });
});

test('memory figures: working set = usage − inactive file (v2 inactive_file, v1 total_inactive_file), rss, cache', () => {
  const v2 = { usage: 10485760, maxUsage: 0, limit: null, failcnt: 0, stats: { anon: 6291456, file: 4194304, inactive_file: 3145728 } };
  assert.deepEqual(memoryFigures(v2, 2), { workingSet: 10485760 - 3145728, rss: 6291456, cache: 4194304 });
  const v1 = { usage: 1000, maxUsage: 0, limit: null, failcnt: 0, stats: { total_rss: 300, total_cache: 700, total_inactive_file: 2000, inactive_file: 1 } };
  assert.deepEqual(memoryFigures(v1, 1), { workingSet: 0, rss: 300, cache: 700 }, 'never negative');
});

test('cAdvisor families from a v2 sample: names, units, labels, omitted series', async () => {
  const stats = await readCgroupStats(CG, { root: V2 });
  const spec = await readCgroupSpec(CG, { root: V2 });
  const sample: ContainerSample = {
    cgroup: CG,
    name: '/web',
    image: 'nginx:1.25',
    labels: { 'com.docker.compose.project': 'shop', 'a-b': 'c' },
    stats,
    spec,
    net: { eth0: { rx_bytes: 10, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 20, tx_packets: 2, tx_errors: 0, tx_dropped: 0 } },
    startedAt: 1700000000,
    devices: new Map([['8:0', '/dev/sda']]),
  };
  const fams = new Map(containerFamilies([sample], 1700000100).map((f) => [f.name, f]));
  const v = (name: string) => fams.get(name)!.values;
  const labels = { container_label_com_docker_compose_project: 'shop', container_label_a_b: 'c', id: CG, image: 'nginx:1.25', name: 'web' };
  assert.deepEqual(v('container_cpu_usage_seconds_total'), [{ labels: { ...labels, cpu: 'total' }, value: 1.5 }]);
  assert.equal(v('container_cpu_user_seconds_total')[0]!.value, 1);
  assert.equal(v('container_cpu_system_seconds_total')[0]!.value, 0.5);
  assert.equal(v('container_memory_usage_bytes')[0]!.value, 10485760);
  assert.equal(v('container_memory_working_set_bytes')[0]!.value, 10485760 - 3145728);
  assert.equal(v('container_memory_rss')[0]!.value, 6291456);
  assert.equal(v('container_memory_cache')[0]!.value, 4194304);
  assert.equal(v('container_spec_memory_limit_bytes')[0]!.value, 2147483648);
  assert.equal(v('container_spec_cpu_quota')[0]!.value, 50000);
  assert.equal(v('container_spec_cpu_period')[0]!.value, 100000);
  assert.equal(v('container_spec_cpu_shares')[0]!.value, 2597);
  assert.deepEqual(v('container_network_receive_bytes_total'), [{ labels: { ...labels, interface: 'eth0' }, value: 10 }]);
  assert.equal(v('container_network_transmit_bytes_total')[0]!.value, 20);
  assert.deepEqual(v('container_fs_reads_bytes_total'), [{ labels: { ...labels, device: '/dev/sda' }, value: 4096 }]);
  assert.equal(v('container_fs_writes_bytes_total')[0]!.value, 8192);
  assert.equal(v('container_processes')[0]!.value, 2);
  assert.equal(v('container_last_seen')[0]!.value, 1700000100);
  assert.equal(v('container_start_time_seconds')[0]!.value, 1700000000);
  assert.equal(v('container_oom_events_total')[0]!.value, 2);
  assert.equal(fams.get('container_oom_events_total')!.type, 'counter');
  assert.equal(fams.get('container_memory_rss')!.type, 'gauge');
  // No quota, no limit: cAdvisor leaves the quota out and writes the limit as 0.
  const open = containerFamilies([{ ...sample, spec: { ...spec, cpuQuota: 0 }, stats: { ...stats, memory: { ...stats.memory, limit: null } } }], 0);
  assert.deepEqual(open.find((f) => f.name === 'container_spec_cpu_quota')!.values, []);
  assert.equal(open.find((f) => f.name === 'container_spec_memory_limit_bytes')!.values[0]!.value, 0);
  assert.equal(sanitizeLabelName('io.k8s/name-x'), 'io_k8s_name_x');
});

test('history ring: fixed size, oldest first, overwrite when full, since filter', () => {
  const r = new HistoryRing(3);
  const p = (t: number) => ({ Time: t, CPUPercent: t / 3, MemoryUsage: t, MemoryLimit: 1, NetworkRx: 0, NetworkTx: 0, BlockRead: 0, BlockWrite: 0, Pids: t });
  assert.deepEqual(r.points(), []);
  for (const t of [1, 2, 3, 4, 5]) r.push(p(t));
  assert.equal(r.size, 3);
  assert.deepEqual(
    r.points().map((x) => x.Time),
    [3, 4, 5],
  );
  assert.deepEqual(
    r.points(4).map((x) => x.Time),
    [5],
  );
  assert.equal(r.points()[0]!.CPUPercent, 1);
  assert.equal(r.newest, 5);
  assert.equal(POINT_BYTES, 64);
  assert.equal(HISTORY_CEILING_BYTES, 1000 * 720 * 64);
});
