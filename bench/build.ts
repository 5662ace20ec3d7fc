/**
 * Build benchmarks, Berth against Docker's classic builder
 * (`DOCKER_BUILDKIT=0 docker build`) on a real dockerd, both driven by the
 * docker CLI's own client where it matters little and by each engine's CLI:
 *
 *   cold      a 10-instruction Dockerfile over a 50 MB, 5,000-file context, no cache
 *   cached    the same build again: every step from the cache
 *   one file  after one small file of the context changed: rebuild from its COPY
 *
 * Each figure is the median of BENCH_BUILD_RUNS (default 3) runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { BERTH, Daemon, RealDockerd, busyboxTar, tempDir, run } from '../test/helpers.js';
import { median } from './common.js';

const RUNS = Number(process.env.BENCH_BUILD_RUNS ?? 3);
const FILES = 5000;
const TOTAL_MB = 50;


const DOCKERFILE = [
  'FROM busybox',
  'ENV APP=/app',
  'LABEL bench=build',
  'WORKDIR /app',
  'COPY vendor/ /app/vendor/',
  'RUN du -s /app/vendor > /vendor.size',
  'COPY src/ /app/src/',
  'RUN ls /app/src | wc -l > /src.count',
  'EXPOSE 8080',
  'CMD ["sh"]',
].join('\n') + '\n';

/** 5,000 files, 50 MB: vendor/ (big, stable) and src/ (small, the one that changes). */
function makeContext(dir: string): void {
  let seed = createHash('sha256').update('berth-build-bench').digest();
  const per = Math.floor((TOTAL_MB * 1e6) / FILES);
  for (let i = 0; i < FILES; i++) {
    const sub = i < FILES * 0.9 ? `vendor/pkg${Math.floor(i / 100)}` : `src/mod${Math.floor(i / 100)}`;
    mkdirSync(join(dir, sub), { recursive: true });
    const buf = Buffer.alloc(per);
    for (let o = 0; o < per; o += 32) { seed = createHash('sha256').update(seed).digest(); seed.copy(buf, o); }
    writeFileSync(join(dir, sub, `f${i}.dat`), buf);
  }
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
}

interface Engine { name: string; build: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>; cli: (a: string[]) => Promise<unknown>; cleanup: () => Promise<void> }

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  const ctx = tempDir('berth-bench-ctx-');
  makeContext(ctx);
  const engines: Engine[] = [];
  const berth = new Daemon(tempDir('berth-bench-build-'));
  await berth.start();
  engines.push({ name: 'berth', build: (a) => run(BERTH, ['-H', berth.host, 'build', ...a]), cli: (a) => berth.berth(a), cleanup: () => berth.cleanup() });
  if (spawnSync('which', ['dockerd']).status === 0) {
    const docker = new RealDockerd(tempDir('berth-bench-build-dockerd-'));
    await docker.start();
    const env = { ...process.env, DOCKER_HOST: `unix://${docker.socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(docker.dir, 'docker-config') };
    engines.push({ name: 'docker', build: (a) => run('docker', ['build', ...a], { env }), cli: (a) => docker.docker(a), cleanup: () => docker.cleanup() });
  } else console.log('# dockerd not installed: docker column skipped');
  if (spawnSync('which', ['podman']).status === 0) console.log('# podman installed but not benchmarked here');

  // The engines take turns run by run, so a noisy moment of the machine falls on both.
  const samples = new Map(engines.map((e) => [e.name, { cold: [] as number[], cached: [] as number[], oneFile: [] as number[] }]));
  for (const e of engines) await e.cli(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'busybox:latest']);
  for (let i = 0; i < RUNS; i++) {
    for (const e of engines) {
      const s = samples.get(e.name)!;
      const build = async (args: string[], out: number[], expectCache?: number) => {
        let res;
        out.push(await timeIt(async () => { res = await e.build([...args, '-t', 'bench/build', ctx]); }));
        if (res!.code !== 0) throw new Error(`${e.name} build failed: ${res!.stderr}`);
        const hits = (res!.stdout.match(/Using cache/g) ?? []).length;
        if (expectCache !== undefined && hits !== expectCache) throw new Error(`${e.name}: expected ${expectCache} cache hits, saw ${hits}:\n${res!.stdout}`);
      };
      await build(['--no-cache'], s.cold, 0);
      await build([], s.cached, 9);
      writeFileSync(join(ctx, 'src', 'mod45', 'f4500.dat'), `changed ${e.name} ${i} ${Date.now()}`);
      await build([], s.oneFile, 5);
    }
  }
  const results: Record<string, Record<string, number>> = {};
  for (const [name, s] of samples) results[name] = { cold: median(s.cold), cached: median(s.cached), oneFile: median(s.oneFile) };
  for (const e of engines) await e.cleanup();
  spawnSync('rm', ['-rf', ctx]);

  const names = engines.map((e) => e.name);
  console.log(`# Berth build benchmarks — ${FILES} files, ${TOTAL_MB} MB context, 10 instructions, median of ${RUNS}, the engines taking turns run by run`);
  console.log(['metric (ms, lower is better)', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  for (const [label, key] of [['cold build', 'cold'], ['fully cached rebuild', 'cached'], ['rebuild after one file changed', 'oneFile']] as const) {
    const vals = names.map((n) => results[n]![key]!);
    const ratios = names.filter((n) => n !== 'berth').map((n) => (results.berth![key]! / results[n]![key]!).toFixed(2) + 'x');
    console.log([label, ...vals.map((v) => v.toFixed(0)), ...ratios].join('\t'));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
