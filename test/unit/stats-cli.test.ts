/**
 * The `stats` command's pure parts: a cgroup v2 tree read all the way to docker's table row
 * (this machine runs cgroup v1, so v2 is proven on a fake tree), and the streaming redraw.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { readCgroupStats } from '../../src/runtime/cgroups.js';
import { toDockerStats } from '../../src/engine/containers/stats.js';
import { statsRow } from '../../src/cli/format/stats.js';
import { redrawFrame } from '../../src/cli/commands/stats.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-stats-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tree(files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), body);
  }
}

test('cgroup v2: a 64 MiB-limited container holding 20 MB, busy on one of two CPUs, reads as docker shows it', async () => {
  const cg = '/berth/c0ffee';
  const sample = (usec: number) =>
    tree({
      'cgroup.controllers': 'cpuset cpu io memory pids\n',
      [`${cg}/cpu.stat`]: `usage_usec ${usec}\nuser_usec ${usec}\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`,
      [`${cg}/memory.current`]: `${20 * 1024 * 1024 + 1048576}\n`,
      [`${cg}/memory.max`]: `${64 * 1024 * 1024}\n`,
      [`${cg}/memory.stat`]: 'anon 20971520\nfile 1048576\ninactive_file 1048576\nactive_file 0\n',
      [`${cg}/memory.events`]: 'max 0\noom 0\noom_kill 0\n',
      [`${cg}/pids.current`]: '2\n',
      [`${cg}/pids.max`]: 'max\n',
      [`${cg}/io.stat`]: '8:0 rbytes=1048576 wbytes=2097152 rios=1 wios=2 dbytes=0 dios=0\n',
    });
  sample(5_000_000);
  const prev = await readCgroupStats(cg, { root: tmp });
  sample(5_900_000); // 0.9 s of CPU over 1 s of wall time on a 2-CPU host (2 s of host CPU time)
  const cur = await readCgroupStats(cg, { root: tmp });
  assert.equal(cur.version, 2);
  const api = toDockerStats(cur, prev, {
    id: 'c0ffee'.padEnd(64, '0'),
    name: '/busy',
    readTime: new Date(1000),
    preReadTime: new Date(0),
    onlineCpus: 2,
    memTotal: 8 * 1024 ** 3,
    systemCpuNs: 12_000_000_000,
    preSystemCpuNs: 10_000_000_000,
  });
  assert.equal(api.memory_stats.limit, 64 * 1024 * 1024);
  assert.equal(api.pids_stats.current, 2);
  assert.equal(api.blkio_stats.io_serviced_recursive, null);
  const row = statsRow(api);
  assert.deepEqual(row, {
    Container: 'c0ffee000000',
    ID: 'c0ffee000000',
    Name: 'busy',
    CPUPerc: '90.00%',
    MemUsage: '20MiB / 64MiB',
    MemPerc: '31.25%',
    NetIO: '0B / 0B',
    BlockIO: '1.05MB / 2.1MB',
    PIDs: '2',
  });
});

test('redrawFrame: cursor home, each line erased to its end, the rest of the screen cleared', () => {
  assert.equal(redrawFrame('A  B\n1  2\n'), '\x1b[HA  B\x1b[K\n1  2\x1b[K\n\x1b[J');
  assert.equal(redrawFrame('A\n'), '\x1b[HA\x1b[K\n\x1b[J');
});
