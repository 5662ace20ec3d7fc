/**
 * Container benchmarks, Berth against Docker (and podman if installed), printed as
 * ratios. Each engine runs on private roots and sockets created here, with the same
 * busybox image (imported from Debian's busybox-static).
 *
 *   run --rm latency   wall time of `<cli> run --rm busybox true` (median of N; the engines take turns)
 *   50 containers      `run -d busybox sleep` 50 times, 10 at a time; then `rm -f` them, 10 at a time;
 *                      again through the docker CLI (the daemon's share; docker's own figures for docker)
 *   memory/container   resident memory of each running container's shim and processes, averaged over the 50
 *   daemon memory      the daemon's RSS with the 50 running (dockerd + containerd for docker)
 *   log write          a container writing 100 MB to stdout: MB/s from start to exit
 *   log read           `<cli> logs` of those 100 MB: MB/s, bytes counted as they arrive
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, Daemon, RealDockerd, busyboxTar, tempDir, run, type RunResult } from '../test/helpers.js';
import { median } from './common.js';

const RUNS = Number(process.env.BENCH_RUN_RUNS ?? 15);
const COUNT = Number(process.env.BENCH_CONTAINERS ?? 50);
const PARALLEL = 10;
const LOG_MB = Number(process.env.BENCH_LOG_MB ?? 100);


function rssKb(pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
}

/** Every process: pid → parent pid and command line. */
function processTable(): Map<number, { ppid: number; cmd: string }> {
  const t = new Map<number, { ppid: number; cmd: string }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      t.set(Number(d), { ppid, cmd });
    } catch { /* gone */ }
  }
  return t;
}

/** RSS (kB) of the processes whose command line matches, plus all their descendants. */
function treeRssKb(match: (cmd: string) => boolean): { kb: number; roots: number } {
  const t = processTable();
  const roots = [...t].filter(([, p]) => match(p.cmd)).map(([pid]) => pid);
  const seen = new Set<number>(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of t) if (!seen.has(pid) && seen.has(p.ppid)) { seen.add(pid); grew = true; }
  }
  return { kb: [...seen].reduce((n, pid) => n + rssKb(pid), 0), roots: roots.length };
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Run `n` jobs, `width` at a time. */
async function pool(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < n) await job(next++); }));
}

/** Run a CLI and count its stdout bytes without keeping them. */
function countOutput(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ bytes: number; code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { bytes += b.length; });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ bytes, code: code ?? 1, stderr }));
  });
}

interface Engine {
  name: string;
  cli: (args: string[]) => Promise<RunResult>;
  /** The docker CLI against this engine's daemon, when that is not the engine's own CLI: the daemon's share of run --rm. */
  dockerCli?: (args: string[]) => Promise<RunResult>;
  /** [command, args prefix, env] to spawn the CLI directly. */
  spawnArgs: () => [string, string[], NodeJS.ProcessEnv];
  daemonRssKb: () => number;
  /** Memory of the per-container shims and everything under them. */
  containersRssKb: () => { kb: number; roots: number };
  cleanup: () => Promise<void>;
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

async function engines(): Promise<Engine[]> {
  const out: Engine[] = [];
  const berth = new Daemon(tempDir('berth-bench-'));
  await berth.start();
  out.push({
    name: 'berth',
    // As a user runs it: the script itself, so its shebang applies.
    cli: (a) => run(BERTH, ['-H', berth.host, ...a]),
    dockerCli: (a) => berth.docker(a),
    spawnArgs: () => [BERTH, ['-H', berth.host], process.env],
    daemonRssKb: () => rssKb(berth.proc!.pid!),
    containersRssKb: () => treeRssKb((cmd) => cmd.startsWith('conmon ') && cmd.includes(berth.execRoot)),
    cleanup: () => berth.cleanup(),
  });
  if (spawnSync('which', ['dockerd']).status === 0) {
    const docker = new RealDockerd(tempDir('berth-bench-dockerd-'));
    await docker.start();
    const env = { ...process.env, DOCKER_HOST: `unix://${docker.socket}`, DOCKER_CONFIG: join(docker.dir, 'docker-config') };
    out.push({
      name: 'docker',
      cli: (a) => docker.docker(a),
      spawnArgs: () => ['docker', [], env],
      daemonRssKb: () => rssKb(docker.proc!.pid!) + treeRssKb((cmd) => cmd.startsWith('containerd ') && cmd.includes(docker.dir)).kb,
      containersRssKb: () => treeRssKb((cmd) => cmd.includes('containerd-shim') && cmd.includes('-namespace berth-test ')),
      cleanup: () => docker.cleanup(),
    });
  } else console.log('# dockerd not installed: docker column skipped');
  if (spawnSync('which', ['podman']).status === 0) {
    const root = tempDir('berth-bench-podman-');
    const base = ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--storage-driver', 'overlay'];
    out.push({
      name: 'podman',
      cli: (a) => run('podman', [...base, ...a]),
      spawnArgs: () => ['podman', base, process.env],
      daemonRssKb: () => 0, // daemonless
      containersRssKb: () => treeRssKb((cmd) => cmd.startsWith('/usr/bin/conmon') && cmd.includes(root)),
      cleanup: async () => { spawnSync('podman', [...base, 'system', 'reset', '-f']); spawnSync('rm', ['-rf', root]); },
    });
  }
  return out;
}

/**
 * run --rm latency, the engines taking turns run by run: this machine's speed
 * drifts over minutes, and a ratio should not depend on which engine ran first.
 */
async function runLatencies(list: Engine[]): Promise<Map<string, number>> {
  for (const e of [...list]) {
    must(await e.cli(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'busybox:latest']), `${e.name} import`);
    const warm = await e.cli(['run', '--rm', 'busybox', 'true']);
    if (warm.code === 0) continue;
    // Berth and Docker must run; an extra engine that cannot run a container here only loses its column.
    if (e.name === 'berth' || e.name === 'docker') must(warm, `${e.name} run`);
    console.log(`# ${e.name} cannot run a container on this machine, column skipped: ${warm.stderr.trim().split('\n').pop()}`);
    list.splice(list.indexOf(e), 1);
    await e.cleanup();
  }
  const clis = list.flatMap((e) => [
    { name: e.name, cli: e.cli },
    ...(e.dockerCli ? [{ name: `${e.name} via docker CLI`, cli: e.dockerCli }] : []),
  ]);
  for (const c of clis) must(await c.cli(['run', '--rm', 'busybox', 'true']), `${c.name} run`); // warm
  const lat = new Map<string, number[]>(clis.map((c) => [c.name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const c of clis) lat.get(c.name)!.push(await timeIt(async () => { must(await c.cli(['run', '--rm', 'busybox', 'true']), `${c.name} run --rm`); }));
  }
  return new Map([...lat].map(([name, xs]) => [name, median(xs)]));
}

async function measure(e: Engine): Promise<Record<string, number>> {
  const r: Record<string, number> = {};

  // 50 containers, 10 at a time
  const ids: string[] = [];
  r.start50Ms = await timeIt(() => pool(COUNT, PARALLEL, async () => {
    ids.push(must(await e.cli(['run', '-d', 'busybox', 'sleep', '100000']), `${e.name} run -d`).stdout.trim());
  }));
  await new Promise((res) => setTimeout(res, 3000)); // let every shim settle
  const per = e.containersRssKb();
  r.perContainerKB = per.roots ? per.kb / per.roots : 0;
  r.daemonRss50MB = e.daemonRssKb() / 1024;
  r.rm50Ms = await timeIt(() => pool(ids.length, PARALLEL, async (i) => { must(await e.cli(['rm', '-f', ids[i]!]), `${e.name} rm -f`); }));
  // The daemon's share: the same through the docker CLI (for docker, what was just measured).
  if (e.dockerCli) {
    const viaDocker: string[] = [];
    const cli = e.dockerCli;
    r.start50DockerCliMs = await timeIt(() => pool(COUNT, PARALLEL, async () => {
      viaDocker.push(must(await cli(['run', '-d', 'busybox', 'sleep', '100000']), `${e.name} run -d via docker CLI`).stdout.trim());
    }));
    await new Promise((res) => setTimeout(res, 3000));
    r.rm50DockerCliMs = await timeIt(() => pool(viaDocker.length, PARALLEL, async (i) => { must(await cli(['rm', '-f', viaDocker[i]!]), `${e.name} rm -f via docker CLI`); }));
  } else {
    r.start50DockerCliMs = r.start50Ms;
    r.rm50DockerCliMs = r.rm50Ms;
  }

  // 100 MB through the log: written by the container, then read back by `logs`
  const text = '0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 99); // lines of 100 bytes with the newline
  const lineCount = Math.round((LOG_MB * 1e6) / (text.length + 1));
  const writer = `yes ${text} | head -n ${lineCount}`;
  let id = '';
  const writeMs = await timeIt(async () => {
    id = must(await e.cli(['run', '-d', 'busybox', 'sh', '-c', writer]), `${e.name} log writer`).stdout.trim();
    must(await e.cli(['wait', id]), `${e.name} wait`);
  });
  const bytes = lineCount * (text.length + 1);
  r.logWriteMBs = bytes / 1e6 / (writeMs / 1000);
  const [cmd, pre, env] = e.spawnArgs();
  let got = 0;
  const readMs = await timeIt(async () => {
    const o = await countOutput(cmd, [...pre, 'logs', id], env);
    if (o.code !== 0) throw new Error(`${e.name} logs: ${o.stderr}`);
    got = o.bytes;
  });
  if (got !== bytes) throw new Error(`${e.name} logs returned ${got} bytes, expected ${bytes}`);
  r.logReadMBs = bytes / 1e6 / (readMs / 1000);
  await e.cli(['rm', '-f', id]);
  return r;
}

async function main(): Promise<void> {
  const list = await engines();
  const results: Record<string, Record<string, number>> = {};
  let runMs = new Map<string, number>();
  try {
    runMs = await runLatencies(list);
    for (const e of list) results[e.name] = { runMs: runMs.get(e.name)!, ...await measure(e) };
  } finally {
    for (const e of list) await e.cleanup();
  }
  const names = list.map((e) => e.name);
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  console.log(`# Berth container benchmarks — ${RUNS} runs of run --rm, ${COUNT} containers ${PARALLEL} at a time, ${LOG_MB} MB of log`);
  console.log(['metric', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  const rows: [string, string][] = [
    ['run --rm busybox true (ms, median, lower is better)', 'runMs'],
    [`start ${COUNT} detached, ${PARALLEL} at a time (ms, lower is better)`, 'start50Ms'],
    [`rm -f ${COUNT}, ${PARALLEL} at a time (ms, lower is better)`, 'rm50Ms'],
    [`start ${COUNT} through the docker CLI (ms, lower is better)`, 'start50DockerCliMs'],
    [`rm -f ${COUNT} through the docker CLI (ms, lower is better)`, 'rm50DockerCliMs'],
    ['memory per running container incl. shim (KB RSS, lower is better)', 'perContainerKB'],
    [`daemon RSS with ${COUNT} running (MB, lower is better)`, 'daemonRss50MB'],
    [`container writing ${LOG_MB} MB to stdout (MB/s, higher is better)`, 'logWriteMBs'],
    [`logs reading ${LOG_MB} MB (MB/s, higher is better)`, 'logReadMBs'],
  ];
  for (const [label, key] of rows) {
    const vals = names.map((n) => results[n]![key]!);
    const ratios = names.filter((n) => n !== 'berth').map((n) => (results[n]![key] ? (results.berth![key]! / results[n]![key]!).toFixed(2) + 'x' : 'n/a'));
    console.log([label, ...vals.map(fmt), ...ratios].join('\t'));
  }
  for (const [name, ms] of runMs) if (!names.includes(name)) console.log(`# run --rm, ${name}: ${fmt(ms)} ms`);
}

main().catch((e) => { console.error(e); process.exit(1); });
