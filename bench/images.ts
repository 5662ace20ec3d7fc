/**
 * Image benchmarks, Berth against Docker (and podman if installed), printed
 * as ratios. Each engine runs on private roots and sockets created here.
 *
 *   images latency     wall time of `<cli> images`, CLI start to output (median of N)
 *   import throughput  MB/s importing the same ~300 MB rootfs tar (median of 3)
 *   idle memory        resident set of the idle daemon(s): berthd vs dockerd + containerd
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { pack } from 'tar-stream';
import { BERTH, Daemon, RealDockerd, busyboxTar, tempDir, run, FIXTURES } from '../test/helpers.js';
import { median } from './common.js';

const ROOTFS_MB = Number(process.env.BENCH_ROOTFS_MB ?? 300);
const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 20);


/** A deterministic rootfs-like tar: busybox plus ~ROOTFS_MB of files of mixed sizes. */
async function rootfsTar(): Promise<string> {
  const out = join(FIXTURES, `rootfs-${ROOTFS_MB}mb.tar`);
  if (existsSync(out)) return out;
  const p = pack();
  const w = pipeline(p, createWriteStream(out + '.tmp'));
  const add = (name: string, data: Buffer) => new Promise<void>((res, rej) => p.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, data, (e) => (e ? rej(e) : res())));
  const dir = (name: string) => new Promise<void>((res, rej) => p.entry({ name, type: 'directory', mode: 0o755 }, (e) => (e ? rej(e) : res())));
  await add('bin/busybox', readFileSync('/bin/busybox'));
  let total = 0;
  let seed = createHash('sha256').update('berth').digest();
  const sizes = [512, 4096, 16384, 65536, 262144, 1 << 20];
  for (let i = 0; total < ROOTFS_MB * 1e6; i++) {
    if (i % 200 === 0) await dir(`usr/lib/pkg${i / 200}/`);
    const size = sizes[i % sizes.length];
    const buf = Buffer.alloc(size);
    for (let o = 0; o < size; o += 32) { seed = createHash('sha256').update(seed).digest(); seed.copy(buf, o); }
    await add(`usr/lib/pkg${Math.floor(i / 200)}/file${i}`, buf);
    total += size;
  }
  p.finalize();
  await w;
  spawnSync('mv', [out + '.tmp', out]);
  return out;
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch { return 0; }
}

function pidsOf(name: string, under: string): number[] {
  const r = spawnSync('pgrep', ['-f', `${name}.*${under}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

interface EngineUnderTest {
  name: string;
  cli: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  rssKb: () => number;
  cleanup: () => Promise<void>;
}

async function main(): Promise<void> {
  const tar = await rootfsTar();
  const mb = statSync(tar).size / 1e6;
  const engines: EngineUnderTest[] = [];

  const berth = new Daemon(tempDir('berth-bench-'));
  await berth.start();
  engines.push({ name: 'berth', cli: (a) => run(BERTH, ['-H', berth.host, ...a]), rssKb: () => rssKb(berth.proc!.pid!), cleanup: () => berth.cleanup() });

  if (spawnSync('which', ['dockerd']).status === 0) {
    const docker = new RealDockerd(tempDir('berth-bench-dockerd-'));
    await docker.start();
    engines.push({
      name: 'docker',
      cli: (a) => docker.docker(a),
      // dockerd plus the containerd it started for itself.
      rssKb: () => rssKb(docker.proc!.pid!) + pidsOf('containerd', docker.dir).reduce((n, p) => n + rssKb(p), 0),
      cleanup: () => docker.cleanup(),
    });
  } else console.log('# dockerd not installed: docker column skipped');
  if (spawnSync('which', ['podman']).status === 0) {
    const root = tempDir('berth-bench-podman-');
    const base = ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--storage-driver', 'overlay'];
    engines.push({
      name: 'podman',
      cli: (a) => run('podman', [...base, ...a]),
      rssKb: () => 0, // daemonless
      cleanup: async () => { spawnSync('podman', [...base, 'system', 'reset', '-f']); spawnSync('rm', ['-rf', root]); },
    });
  }

  const results: Record<string, Record<string, number>> = {};
  for (const e of engines) {
    const r: Record<string, number> = {};
    // Import throughput: median of 3, removing the image between runs.
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      let res;
      const ms = await timeIt(async () => { res = await e.cli(['import', tar, `bench/rootfs:${i}`]); });
      if (res!.code !== 0) throw new Error(`${e.name} import failed: ${res!.stderr}`);
      times.push(ms);
      if (i < 2) await e.cli(['rmi', `bench/rootfs:${i}`]);
    }
    r.importMBs = mb / (median(times) / 1000);
    // A realistic list: a dozen images.
    await e.cli(['import', busyboxTar(), 'busybox:latest']);
    for (let i = 0; i < 10; i++) await e.cli(['tag', 'busybox:latest', `team/app${i}:v${i}`]);
    await e.cli(['images']); // warm
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) lat.push(await timeIt(async () => { const x = await e.cli(['images']); if (x.code !== 0) throw new Error(x.stderr); }));
    r.imagesMs = median(lat);
    await new Promise((res) => setTimeout(res, 3000));
    r.idleRssMB = e.rssKb() / 1024;
    results[e.name] = r;
  }
  for (const e of engines) await e.cleanup();

  const names = engines.map((e) => e.name);
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(`# Berth image benchmarks — rootfs tar ${mb.toFixed(0)} MB, ${LATENCY_RUNS} runs of images`);
  console.log(['metric', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  const rows: [string, keyof (typeof results)[string], boolean][] = [
    ['images latency (ms, lower is better)', 'imagesMs', false],
    ['import throughput (MB/s, higher is better)', 'importMBs', true],
    ['idle daemon RSS (MB, lower is better)', 'idleRssMB', false],
  ];
  for (const [label, key] of rows) {
    const vals = names.map((n) => results[n][key]);
    const ratios = names.filter((n) => n !== 'berth').map((n) => (results[n][key] ? (results.berth[key] / results[n][key]).toFixed(2) + 'x' : 'n/a'));
    console.log([label, ...vals.map(fmt), ...ratios].join('\t'));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
