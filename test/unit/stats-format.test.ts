/**
 * Docker's stats JSON from cgroup samples, and the `docker stats` row text computed from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgroupStats } from '../../src/runtime/cgroups.js';
import { toDockerStats, stoppedDockerStats, rfc3339Nano, type DockerStats, type StatsMeta } from '../../src/engine/containers/stats.js';
import { statsRow, statsEntry, cpuPercent, memUsageNoCache, STATS_HEADERS, type ApiStats } from '../../src/cli/format/stats.js';

const ID = 'f3a1c9e0b2d4' + '5'.repeat(52);
const MEM_TOTAL = 2087354368; // prints as 1.944GiB
const NULL_BLKIO = {
  io_service_bytes_recursive: null,
  io_serviced_recursive: null,
  io_queue_recursive: null,
  io_service_time_recursive: null,
  io_wait_time_recursive: null,
  io_merged_recursive: null,
  io_time_recursive: null,
  sectors_recursive: null,
};

const V1_BASE = [
  'cache',
  'rss',
  'rss_huge',
  'mapped_file',
  'dirty',
  'writeback',
  'pgpgin',
  'pgpgout',
  'pgfault',
  'pgmajfault',
  'inactive_anon',
  'active_anon',
  'inactive_file',
  'active_file',
  'unevictable',
];
const V1_MEMORY_ZERO = Object.fromEntries(
  [...V1_BASE, 'hierarchical_memory_limit', 'hierarchical_memsw_limit', ...V1_BASE.map((k) => `total_${k}`)].map((k) => [k, 0]),
);

const v1: CgroupStats = {
  version: 1,
  cpu: {
    usageNs: 2_500_000_000,
    userNs: 1_500_000_000,
    systemNs: 800_000_000,
    perCpuNs: [1_500_000_000, 1_000_000_000],
    periods: 10,
    throttledPeriods: 2,
    throttledNs: 5_000_000,
  },
  memory: {
    usage: 10485760,
    maxUsage: 12582912,
    limit: null,
    failcnt: 0,
    stats: { cache: 2367488, rss: 7864320, total_inactive_file: 2097152, inactive_file: 2097152, shmem: 4096, workingset_refault_anon: 1 },
  },
  pids: { current: 3, limit: null },
  blkio: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'Read', value: 1048576 },
      { major: 8, minor: 0, op: 'Write', value: 4096 },
      { major: 8, minor: 0, op: 'Sync', value: 4096 },
      { major: 8, minor: 0, op: 'Async', value: 1048576 },
      { major: 8, minor: 0, op: 'Total', value: 1052672 },
    ],
    io_serviced_recursive: [],
    io_queue_recursive: [],
    io_service_time_recursive: [],
    io_wait_time_recursive: [],
    io_merged_recursive: [],
    io_time_recursive: [],
    sectors_recursive: [],
  },
};
const v1prev: Pick<CgroupStats, 'cpu'> = { cpu: { ...v1.cpu, usageNs: 2_000_000_000, perCpuNs: [1_200_000_000, 800_000_000] } };

const net = {
  eth0: { rx_bytes: 1234, rx_packets: 15, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 },
};

const v1meta: StatsMeta = {
  id: ID,
  name: 'web',
  net,
  readTime: new Date('2024-05-01T10:00:01.250Z'),
  preReadTime: new Date('2024-05-01T10:00:00Z'),
  onlineCpus: 2,
  memTotal: MEM_TOTAL,
  systemCpuNs: 100_002_000_000_000,
  preSystemCpuNs: 100_000_000_000_000,
};

test('toDockerStats v1: the Engine API object', () => {
  const s = toDockerStats(v1, v1prev, v1meta);
  const expected: DockerStats = {
    read: '2024-05-01T10:00:01.25Z',
    preread: '2024-05-01T10:00:00Z',
    pids_stats: { current: 3 },
    blkio_stats: { ...(v1.blkio as DockerStats['blkio_stats']) },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: {
        total_usage: 2_500_000_000,
        percpu_usage: [1_500_000_000, 1_000_000_000],
        usage_in_kernelmode: 800_000_000,
        usage_in_usermode: 1_500_000_000,
      },
      system_cpu_usage: 100_002_000_000_000,
      online_cpus: 2,
      throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 5_000_000 },
    },
    precpu_stats: {
      cpu_usage: { total_usage: 2_000_000_000, percpu_usage: [1_200_000_000, 800_000_000], usage_in_kernelmode: 800_000_000, usage_in_usermode: 1_500_000_000 },
      system_cpu_usage: 100_000_000_000_000,
      online_cpus: 2,
      throttling_data: { periods: 10, throttled_periods: 2, throttled_time: 5_000_000 },
    },
    // dockerd's v1 set, every key present (0 where the kernel has none), newer kernel keys (shmem, …) left out.
    memory_stats: {
      usage: 10485760,
      max_usage: 12582912,
      stats: { ...V1_MEMORY_ZERO, cache: 2367488, rss: 7864320, total_inactive_file: 2097152, inactive_file: 2097152 },
      limit: MEM_TOTAL,
    },
    name: '/web',
    id: ID,
    networks: net,
  };
  assert.deepEqual(s, expected);
  // Field order as dockerd marshals it.
  assert.deepEqual(Object.keys(s), [
    'read',
    'preread',
    'pids_stats',
    'blkio_stats',
    'num_procs',
    'storage_stats',
    'cpu_stats',
    'precpu_stats',
    'memory_stats',
    'name',
    'id',
    'networks',
  ]);
  assert.deepEqual(Object.keys(s.cpu_stats), ['cpu_usage', 'system_cpu_usage', 'online_cpus', 'throttling_data']);
  assert.deepEqual(Object.keys(s.cpu_stats.cpu_usage), ['total_usage', 'percpu_usage', 'usage_in_kernelmode', 'usage_in_usermode']);
});

test('toDockerStats: limits, first sample, no network', () => {
  // A cgroup limit below host memory is reported as is; above it, host memory wins.
  const limited = { ...v1, memory: { ...v1.memory, limit: 536870912 } };
  assert.equal(toDockerStats(limited, null, v1meta).memory_stats.limit, 536870912);
  const huge = { ...v1, memory: { ...v1.memory, limit: MEM_TOTAL * 4 } };
  assert.equal(toDockerStats(huge, null, v1meta).memory_stats.limit, MEM_TOTAL);

  const s = toDockerStats(v1, null, { ...v1meta, net: {}, preReadTime: undefined, preSystemCpuNs: undefined, name: '/web' });
  assert.equal(s.preread, '0001-01-01T00:00:00Z');
  assert.equal(s.name, '/web');
  assert.deepEqual(s.precpu_stats, {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
  assert.equal('networks' in s, false, 'networks is omitted when the container has none');
  assert.equal('failcnt' in s.memory_stats, false, 'zero failcnt is omitted');
});

const v2: CgroupStats = {
  version: 2,
  cpu: { usageNs: 3_000_000_000, userNs: 2_000_000_000, systemNs: 1_000_000_000, periods: 0, throttledPeriods: 0, throttledNs: 0 },
  memory: { usage: 2097152, maxUsage: 0, limit: null, failcnt: 0, stats: { anon: 1310720, file: 786432, inactive_file: 524288, active_file: 262144 } },
  pids: { current: 1, limit: 100 },
  blkio: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'read', value: 1200 },
      { major: 8, minor: 0, op: 'write', value: 0 },
    ],
    io_serviced_recursive: [
      { major: 8, minor: 0, op: 'read', value: 3 },
      { major: 8, minor: 0, op: 'write', value: 0 },
    ],
  },
};

test('toDockerStats v2: only io_service_bytes_recursive, no percpu, pids limit', () => {
  const s = toDockerStats(
    v2,
    { cpu: { ...v2.cpu, usageNs: 2_990_000_000 } },
    {
      id: ID,
      name: 'db',
      readTime: new Date('2024-05-01T10:00:02Z'),
      preReadTime: new Date('2024-05-01T10:00:01Z'),
      onlineCpus: 4,
      memTotal: MEM_TOTAL,
      systemCpuNs: 4_000_000_000,
      preSystemCpuNs: 0,
    },
  );
  assert.deepEqual(s.blkio_stats, { ...NULL_BLKIO, io_service_bytes_recursive: v2.blkio.io_service_bytes_recursive });
  assert.deepEqual(s.pids_stats, { current: 1, limit: 100 });
  assert.deepEqual(s.cpu_stats.cpu_usage, { total_usage: 3_000_000_000, usage_in_kernelmode: 1_000_000_000, usage_in_usermode: 2_000_000_000 });
  assert.deepEqual(s.memory_stats, { usage: 2097152, stats: v2.memory.stats, limit: MEM_TOTAL });
  assert.equal(s.precpu_stats.system_cpu_usage, undefined, 'a zero previous system time is omitted');
});

test('stoppedDockerStats: zero times and counters', () => {
  const s = stoppedDockerStats(ID, 'gone');
  assert.equal(
    JSON.stringify(s),
    '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,' +
      '"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,' +
      '"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},' +
      '"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},' +
      '"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},' +
      `"memory_stats":{},"name":"/gone","id":"${ID}"}`,
  );
});

test('rfc3339Nano trims the fraction like Go', () => {
  assert.equal(rfc3339Nano(new Date('2024-01-02T03:04:05.000Z')), '2024-01-02T03:04:05Z');
  assert.equal(rfc3339Nano(new Date('2024-01-02T03:04:05.120Z')), '2024-01-02T03:04:05.12Z');
  assert.equal(rfc3339Nano(new Date('2024-01-02T03:04:05.007Z')), '2024-01-02T03:04:05.007Z');
});

test('statsRow v1: CPU from deltas, memory minus total_inactive_file, sums of I/O', () => {
  const row = statsRow(toDockerStats(v1, v1prev, v1meta));
  assert.deepEqual(row, {
    Container: 'f3a1c9e0b2d4',
    ID: 'f3a1c9e0b2d4',
    Name: 'web',
    CPUPerc: '50.00%', // 0.5 s of 2 s host time × 2 CPUs
    MemUsage: '8MiB / 1.944GiB', // 10 MiB − 2 MiB inactive file
    MemPerc: '0.40%',
    NetIO: '1.23kB / 0B',
    BlockIO: '1.05MB / 4.1kB', // Read and Write only; Sync/Async/Total ignored
    PIDs: '3',
  });
  assert.equal(statsRow(toDockerStats(v1, v1prev, v1meta), { noTrunc: true, container: 'web' }).ID, ID);
  assert.equal(statsRow(toDockerStats(v1, v1prev, v1meta), { container: 'web' }).Container, 'web');
});

test('statsRow v2: inactive_file, lower-case ops, several interfaces', () => {
  const s = toDockerStats(
    v2,
    { cpu: { ...v2.cpu, usageNs: 2_990_000_000 } },
    {
      id: ID,
      name: '/db',
      readTime: new Date(),
      onlineCpus: 4,
      memTotal: MEM_TOTAL,
      systemCpuNs: 4_000_000_000,
      preSystemCpuNs: 0,
      net: { ...net, eth1: { ...net.eth0, rx_bytes: 999_000, tx_bytes: 2_500_000_000 } },
    },
  );
  assert.deepEqual(statsRow(s), {
    Container: 'f3a1c9e0b2d4',
    ID: 'f3a1c9e0b2d4',
    Name: 'db',
    CPUPerc: '1.00%', // 10 ms of 4 s × 4 CPUs
    MemUsage: '1.5MiB / 1.944GiB',
    MemPerc: '0.08%',
    NetIO: '1MB / 2.5GB', // 1.000234 MB, 3 significant digits
    BlockIO: '1.2kB / 0B',
    PIDs: '1',
  });
});

test('docker CLI math edge cases', () => {
  // No previous sample or no progress: 0 %, never negative.
  assert.equal(cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 10, online_cpus: 1 } }), 50);
  assert.equal(
    cpuPercent({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 10 }, precpu_stats: { cpu_usage: { total_usage: 6 }, system_cpu_usage: 5 } }),
    0,
  );
  // Old daemons: online_cpus missing → length of percpu_usage.
  assert.equal(
    cpuPercent({
      cpu_stats: { cpu_usage: { total_usage: 200, percpu_usage: [1, 1, 1, 1] }, system_cpu_usage: 1000 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 600 },
    }),
    100,
  );
  // v1 with total_inactive_file ≥ usage: falls through to inactive_file, then raw usage.
  assert.equal(memUsageNoCache({ usage: 100, stats: { total_inactive_file: 200, inactive_file: 30 } }), 70);
  assert.equal(memUsageNoCache({ usage: 100, stats: { inactive_file: 300 } }), 100);
  assert.equal(memUsageNoCache({ usage: 100 }), 100);
  // Zero limit: 0 %. Ops match on their first letter, any case.
  const e = statsEntry({
    memory_stats: { usage: 5 },
    blkio_stats: {
      io_service_bytes_recursive: [
        { op: 'READ', value: 1 },
        { op: 'w', value: 2 },
        { op: '', value: 4 },
      ],
    },
  });
  assert.deepEqual([e.memoryPercentage, e.blockRead, e.blockWrite], [0, 1, 2]);
});

test('statsRow: invalid samples and missing names print placeholders', () => {
  const s: ApiStats = { id: ID, name: '' };
  assert.deepEqual(statsRow(s, { invalid: true, container: 'web' }), {
    Container: 'web',
    ID: 'f3a1c9e0b2d4',
    Name: '--',
    CPUPerc: '--',
    MemUsage: '-- / --',
    MemPerc: '--',
    NetIO: '--',
    BlockIO: '--',
    PIDs: '--',
  });
  assert.equal(statsRow(s).MemUsage, '0B / 0B');
  assert.equal(STATS_HEADERS.MemUsage, 'MEM USAGE / LIMIT');
});
