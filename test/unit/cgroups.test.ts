/**
 * cgroup readers against fake v1 and v2 trees (temp dirs with the files the kernel writes),
 * plus one read of this process's real cgroup.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cgroupVersion,
  controllerDir,
  readCgroupStats,
  oomKillCount,
  freezerState,
  parseProcCgroup,
  parseBlkioV1,
  parseIoStatV2,
  type CgroupOptions,
} from '../../src/runtime/cgroups.js';
import { parseNetDev, parseProcStat, readNetDev, systemCpuUsageNs, readProcStat } from '../../src/runtime/proc-stats.js';
import { writeTree } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-cgroups-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------- v1 fixture

const V1 = join(tmp, 'v1');
const CG = '/berth/abc123';
const V1_MEMORY_STAT = `cache 2367488
rss 7864320
rss_huge 0
shmem 0
mapped_file 1081344
dirty 0
writeback 0
swap 0
pgpgin 4158
pgpgout 1593
pgfault 5049
pgmajfault 9
inactive_anon 7839744
active_anon 24576
inactive_file 2097152
active_file 270336
unevictable 0
hierarchical_memory_limit 9223372036854771712
hierarchical_memsw_limit 9223372036854771712
total_cache 2367488
total_rss 7864320
total_rss_huge 0
total_shmem 0
total_mapped_file 1081344
total_dirty 0
total_writeback 0
total_swap 0
total_pgpgin 4158
total_pgpgout 1593
total_pgfault 5049
total_pgmajfault 9
total_inactive_anon 7839744
total_active_anon 24576
total_inactive_file 2097152
total_active_file 270336
total_unevictable 0
`;
writeTree(V1, {
  [`cpu,cpuacct${CG}/cpuacct.usage`]: '2500000000\n',
  [`cpu,cpuacct${CG}/cpuacct.usage_percpu`]: '1500000000 1000000000 \n',
  [`cpu,cpuacct${CG}/cpuacct.stat`]: 'user 150\nsystem 80\n',
  [`cpu,cpuacct${CG}/cpu.stat`]: 'nr_periods 10\nnr_throttled 2\nthrottled_time 5000000\n',
  [`memory${CG}/memory.usage_in_bytes`]: '10485760\n',
  [`memory${CG}/memory.max_usage_in_bytes`]: '12582912\n',
  [`memory${CG}/memory.limit_in_bytes`]: '9223372036854771712\n',
  [`memory${CG}/memory.failcnt`]: '0\n',
  [`memory${CG}/memory.stat`]: V1_MEMORY_STAT,
  [`memory${CG}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
  [`pids${CG}/pids.current`]: '3\n',
  [`pids${CG}/pids.max`]: 'max\n',
  [`blkio${CG}/blkio.throttle.io_service_bytes_recursive`]:
    '8:0 Read 1048576\n8:0 Write 4096\n8:0 Sync 4096\n8:0 Async 1048576\n8:0 Discard 0\n8:0 Total 1052672\nTotal 1052672\n',
  [`blkio${CG}/blkio.throttle.io_serviced_recursive`]: '8:0 Read 12\n8:0 Write 1\n8:0 Sync 1\n8:0 Async 12\n8:0 Discard 0\n8:0 Total 13\nTotal 13\n',
  [`freezer${CG}/freezer.state`]: 'FROZEN\n',
});

// cpu and cpuacct co-mounted, as systemd does; the cgroup2 and tmpfs lines must be ignored.
const V1_MOUNTINFO =
  [
    `25 1 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw`,
    `31 25 0:28 / ${V1} ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755`,
    `32 31 0:29 / ${V1}/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate`,
    `34 31 0:31 / ${V1}/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct`,
    `35 31 0:32 / ${V1}/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory`,
    `36 31 0:33 / ${V1}/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids`,
    `37 31 0:34 / ${V1}/blkio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,blkio`,
    `38 31 0:35 / ${V1}/freezer rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,freezer`,
    `39 31 0:36 / ${V1}/systemd rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,xattr,name=systemd`,
  ].join('\n') + '\n';
const v1opts: CgroupOptions = { root: V1, mountinfo: V1_MOUNTINFO };

// ---------------------------------------------------------------- v2 fixture

const V2 = join(tmp, 'v2');
const V2_MEMORY_STAT = `anon 1310720
file 786432
kernel 266240
kernel_stack 16384
pagetables 49152
percpu 480
sock 0
vmalloc 8192
shmem 0
file_mapped 262144
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
inactive_anon 1306624
active_anon 4096
inactive_file 524288
active_file 262144
unevictable 0
slab_reclaimable 98304
slab_unreclaimable 90112
slab 188416
workingset_refault_anon 0
workingset_refault_file 0
pgfault 1386
pgmajfault 4
`;
writeTree(V2, {
  'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
  [`${CG}/cgroup.controllers`]: 'cpuset cpu io memory hugetlb pids rdma misc\n',
  [`${CG}/cpu.stat`]:
    'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 4\nnr_throttled 1\nthrottled_usec 2500\nnr_bursts 0\nburst_usec 0\n',
  [`${CG}/memory.current`]: '2097152\n',
  [`${CG}/memory.max`]: 'max\n',
  [`${CG}/memory.peak`]: '3145728\n',
  [`${CG}/memory.stat`]: V2_MEMORY_STAT,
  [`${CG}/memory.events`]: 'low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n',
  [`${CG}/pids.current`]: '1\n',
  [`${CG}/pids.max`]: '100\n',
  [`${CG}/io.stat`]: '8:0 rbytes=1200 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n253:1 rbytes=800 wbytes=4096 rios=1 wios=2 dbytes=0 dios=0\n',
  [`${CG}/cgroup.events`]: 'populated 1\nfrozen 0\n',
  [`${CG}/cgroup.freeze`]: '1\n',
});

// ---------------------------------------------------------------- tests

test('cgroupVersion: v2 when the root has cgroup.controllers', () => {
  assert.equal(cgroupVersion(V1), 1);
  assert.equal(cgroupVersion(V2), 2);
});

test('controllerDir: v1 mount points from mountinfo, co-mounted controllers, namespace roots', () => {
  assert.equal(controllerDir(CG, 'memory', v1opts), `${V1}/memory${CG}`);
  assert.equal(controllerDir(CG, 'cpu', v1opts), `${V1}/cpu,cpuacct${CG}`);
  assert.equal(controllerDir(CG, 'cpuacct', v1opts), `${V1}/cpu,cpuacct${CG}`);
  // No mount for cpuset in this mountinfo: the conventional <root>/<controller>.
  assert.equal(controllerDir(CG, 'cpuset', v1opts), `${V1}/cpuset${CG}`);
  // Inside a cgroup namespace the mount's root is a sub-path of the hierarchy.
  const ns = '40 31 0:32 /berth /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n';
  assert.equal(controllerDir(CG, 'memory', { version: 1, mountinfo: ns }), '/sys/fs/cgroup/memory/abc123');
  // Escaped mount points (\040 = space).
  const esc = '41 31 0:33 / /mnt/my\\040cg rw - cgroup cgroup rw,pids\n';
  assert.equal(controllerDir('/x', 'pids', { version: 1, mountinfo: esc }), '/mnt/my cg/x');
  assert.equal(controllerDir(CG, 'memory', { root: V2 }), `${V2}${CG}`);
});

test('readCgroupStats v1', async () => {
  const s = await readCgroupStats(CG, v1opts);
  assert.equal(s.version, 1);
  assert.deepEqual(s.cpu, {
    usageNs: 2_500_000_000,
    userNs: 1_500_000_000,
    systemNs: 800_000_000,
    perCpuNs: [1_500_000_000, 1_000_000_000],
    periods: 10,
    throttledPeriods: 2,
    throttledNs: 5_000_000,
  });
  assert.equal(s.memory.usage, 10485760);
  assert.equal(s.memory.maxUsage, 12582912);
  assert.equal(s.memory.limit, null, 'PAGE_COUNTER_MAX means unlimited');
  assert.equal(s.memory.failcnt, 0);
  assert.equal(s.memory.stats.total_inactive_file, 2097152);
  assert.equal(s.memory.stats.cache, 2367488);
  assert.equal(Object.keys(s.memory.stats).length, 36);
  assert.deepEqual(s.pids, { current: 3, limit: null });
  assert.deepEqual(s.blkio.io_service_bytes_recursive, [
    { major: 8, minor: 0, op: 'Read', value: 1048576 },
    { major: 8, minor: 0, op: 'Write', value: 4096 },
    { major: 8, minor: 0, op: 'Sync', value: 4096 },
    { major: 8, minor: 0, op: 'Async', value: 1048576 },
    { major: 8, minor: 0, op: 'Discard', value: 0 },
    { major: 8, minor: 0, op: 'Total', value: 1052672 },
  ]);
  assert.equal(s.blkio.io_serviced_recursive?.length, 6);
  assert.deepEqual(s.blkio.sectors_recursive, [], 'v1 lists without a file are empty, not absent');
  assert.equal(await oomKillCount(CG, v1opts), 1);
  assert.equal(await freezerState(CG, v1opts), 'frozen');
});

test('readCgroupStats v1: per-controller paths, missing controllers read as zero, missing cgroup throws', async () => {
  // Only memory exists at this path; cpuacct/pids/blkio are elsewhere or absent.
  writeTree(V1, { 'memory/other/memory.usage_in_bytes': '4096\n', 'memory/other/memory.limit_in_bytes': '1073741824\n' });
  const s = await readCgroupStats({ memory: '/other', cpuacct: '/nope', pids: '/nope', blkio: '/nope' }, v1opts);
  assert.equal(s.memory.usage, 4096);
  assert.equal(s.memory.limit, 1073741824);
  assert.equal(s.cpu.usageNs, 0);
  assert.equal(s.cpu.perCpuNs, undefined);
  assert.deepEqual(s.pids, { current: 0, limit: null });
  await assert.rejects(readCgroupStats('/berth/gone', v1opts), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.equal(await oomKillCount('/berth/gone', v1opts), 0);
  assert.equal(await freezerState('/berth/gone', v1opts), 'thawed');
});

test('readCgroupStats v1: CFQ files preferred when present', async () => {
  const cfq = '/berth/cfq';
  writeTree(V1, {
    [`memory${cfq}/memory.usage_in_bytes`]: '1\n',
    [`blkio${cfq}/blkio.io_service_bytes_recursive`]: '8:16 Read 8192\n8:16 Write 0\nTotal 8192\n',
    [`blkio${cfq}/blkio.io_serviced_recursive`]: '8:16 Read 2\n8:16 Write 0\nTotal 2\n',
    [`blkio${cfq}/blkio.sectors_recursive`]: '8:16 16\n',
    [`blkio${cfq}/blkio.throttle.io_service_bytes_recursive`]: '8:16 Read 1\nTotal 1\n',
  });
  const s = await readCgroupStats(cfq, v1opts);
  assert.deepEqual(s.blkio.io_service_bytes_recursive, [
    { major: 8, minor: 16, op: 'Read', value: 8192 },
    { major: 8, minor: 16, op: 'Write', value: 0 },
  ]);
  assert.deepEqual(s.blkio.sectors_recursive, [{ major: 8, minor: 16, op: '', value: 16 }]);
  assert.deepEqual(s.blkio.io_queue_recursive, []);
});

test('readCgroupStats v2', async () => {
  const s = await readCgroupStats(CG, { root: V2 });
  assert.equal(s.version, 2);
  assert.deepEqual(s.cpu, {
    usageNs: 3_000_000_000,
    userNs: 2_000_000_000,
    systemNs: 1_000_000_000,
    periods: 4,
    throttledPeriods: 1,
    throttledNs: 2_500_000,
  });
  assert.deepEqual({ ...s.memory, stats: undefined }, { usage: 2097152, maxUsage: 3145728, limit: null, failcnt: 2, stats: undefined });
  assert.equal(s.memory.stats.inactive_file, 524288);
  assert.equal(s.memory.stats.anon, 1310720);
  assert.deepEqual(s.pids, { current: 1, limit: 100 });
  assert.deepEqual(s.blkio.io_service_bytes_recursive, [
    { major: 8, minor: 0, op: 'read', value: 1200 },
    { major: 8, minor: 0, op: 'write', value: 0 },
    { major: 253, minor: 1, op: 'read', value: 800 },
    { major: 253, minor: 1, op: 'write', value: 4096 },
  ]);
  assert.deepEqual(
    s.blkio.io_serviced_recursive?.map((e) => e.value),
    [3, 0, 1, 2],
  );
  assert.equal(s.blkio.sectors_recursive, undefined);
  assert.equal(await oomKillCount(CG, { root: V2 }), 1);
  assert.equal(await freezerState(CG, { root: V2 }), 'freezing', 'freeze requested, not yet frozen');
  writeFileSync(join(V2, CG, 'cgroup.events'), 'populated 1\nfrozen 1\n');
  assert.equal(await freezerState(CG, { root: V2 }), 'frozen');
  await assert.rejects(readCgroupStats('/berth/gone', { root: V2 }), /cgroup not found/);
});

test('readCgroupStats v2: limits as numbers, empty io.stat', async () => {
  const p = '/berth/limited';
  writeTree(V2, { [`${p}/memory.current`]: '1572864\n', [`${p}/memory.max`]: '536870912\n', [`${p}/io.stat`]: '', [`${p}/pids.max`]: 'max\n' });
  const s = await readCgroupStats(p, { root: V2 });
  assert.equal(s.memory.limit, 536870912);
  assert.equal(s.memory.maxUsage, 0);
  assert.deepEqual(s.blkio.io_service_bytes_recursive, []);
  assert.deepEqual(s.pids, { current: 0, limit: null });
});

test('parsers: /proc/<pid>/cgroup, blkio, io.stat', () => {
  assert.deepEqual(parseProcCgroup('12:cpu,cpuacct:/berth/x\n4:memory:/berth/x\n1:name=systemd:/user.slice\n0::/berth/x\n'), {
    cpu: '/berth/x',
    cpuacct: '/berth/x',
    memory: '/berth/x',
    'name=systemd': '/user.slice',
    unified: '/berth/x',
  });
  assert.deepEqual(parseProcCgroup('0::/system.slice/berth-abc.scope\n'), { unified: '/system.slice/berth-abc.scope' });
  assert.deepEqual(parseBlkioV1('Total 0\n'), []);
  assert.deepEqual(parseIoStatV2(undefined), { io_service_bytes_recursive: [], io_serviced_recursive: [] });
});

test('parseNetDev skips lo and reads rx/tx columns', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0
  eth0:    1234      15    1    2    0     0          0         0      648       8    3    4    0     0       0          0
eth1:4294967296 3000000 0 0 0 0 0 0 123 1 0 0 0 0 0 0
`;
  assert.deepEqual(parseNetDev(text), {
    eth0: { rx_bytes: 1234, rx_packets: 15, rx_errors: 1, rx_dropped: 2, tx_bytes: 648, tx_packets: 8, tx_errors: 3, tx_dropped: 4 },
    eth1: { rx_bytes: 4294967296, rx_packets: 3000000, rx_errors: 0, rx_dropped: 0, tx_bytes: 123, tx_packets: 1, tx_errors: 0, tx_dropped: 0 },
  });
});

test('parseProcStat: first seven cpu fields × 1e9 / 100, cpuN lines counted', () => {
  const text =
    'cpu  53635 10 17742 3557959 1970 5 905 381 0 0\ncpu0 25613 0 7965 1782110 118 0 448 139 0 0\ncpu1 28021 0 9776 1775849 1852 0 456 242 0 0\nintr 1 2 3\nctxt 99\n';
  const ticks = 53635 + 10 + 17742 + 3557959 + 1970 + 5 + 905; // steal (381) and guest not counted
  assert.deepEqual(parseProcStat(text), { systemCpuNs: ticks * 1e7, onlineCpus: 2 });
});

test('this machine: the current process cgroup has plausible counters', async (t) => {
  let paths;
  try {
    paths = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return t.skip('no /proc/self/cgroup');
  }
  let s;
  try {
    s = await readCgroupStats(paths);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return t.skip(`cgroup files not found: ${(e as Error).message}`);
    throw e;
  }
  assert.equal(s.version, cgroupVersion());
  assert.ok(s.memory.usage > 0, `memory usage ${s.memory.usage}`);
  assert.ok(s.cpu.usageNs > 0, `cpu usage ${s.cpu.usageNs}`);
  assert.ok(s.memory.limit === null || s.memory.limit > 0);
  const host = await readProcStat();
  assert.ok(host.onlineCpus >= 1);
  assert.ok((await systemCpuUsageNs()) > 0);
  assert.ok(typeof (await readNetDev(process.pid)) === 'object');
  assert.ok((await oomKillCount(paths)) >= 0);
});
