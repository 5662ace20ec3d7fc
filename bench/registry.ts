/**
 * Registry server throughput: Berth's registry against Distribution (Debian's
 * `docker-registry`, the reference registry), each on a private root and a
 * loopback port. skopeo pushes a ~100 MB, 4-layer OCI image into each and
 * pulls it back out; median of N runs, MB/s, the ratio, and the server's peak
 * resident memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, run } from '../test/helpers.js';
import { RegistryProc, writeOciLayout, httpReq } from '../test/registry-helpers.js';
import { median, noise, freePort } from './common.js';

const IMAGE_MB = Number(process.env.BENCH_REGISTRY_MB ?? 100);
const RUNS = Number(process.env.BENCH_REGISTRY_RUNS ?? 3);
const LAYERS = 4;




function peakRssMb(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}

interface Target { host: string; pid?: number; stop(): Promise<void> }

async function startDistribution(dir: string): Promise<Target> {
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const proc: ChildProcess = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try { if ((await httpReq(`http://127.0.0.1:${port}/v2/`)).status === 200) break; } catch { /* not yet */ }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('docker-registry did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`, pid: proc.pid,
    stop: () => new Promise((r) => { proc.once('exit', () => r()); proc.kill('SIGTERM'); }),
  };
}

async function startBerth(dir: string): Promise<Target> {
  const r = new RegistryProc(join(dir, 'root'));
  await r.start();
  return { host: r.host, pid: r.proc?.pid, stop: () => r.stop() };
}

async function timed(args: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  const r = await run('skopeo', args, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v skopeo && command -v docker-registry']).status !== 0) {
    console.log('registry bench: needs skopeo and docker-registry (bash scripts/setup.sh --test)');
    return;
  }
  const dir = tempDir('berth-bench-registry-');
  try {
    const per = Math.floor((IMAGE_MB * 1e6) / LAYERS);
    const img = writeOciLayout(join(dir, 'src'), 'v1', Array.from({ length: LAYERS }, (_, i) => noise(per, `layer${i}`)));
    const bytes = img.layers.length * per;
    const results: Array<{ name: string; push: number; pull: number; rss: number }> = [];
    for (const [name, start] of [['berth', startBerth], ['distribution', startDistribution]] as const) {
      const push: number[] = [];
      const pull: number[] = [];
      let rss = 0;
      // A fresh server and root per run: skopeo remembers where blobs live and would mount instead of upload.
      for (let i = 0; i < RUNS; i++) {
        const sub = tempDir('berth-bench-reg-');
        const t = await start(sub);
        try {
          push.push(await timed(['copy', '-q', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${t.host}/bench/img:v1`]));
          pull.push(await timed(['copy', '-q', '--src-tls-verify=false', `docker://${t.host}/bench/img:v1`, `oci:${join(sub, 'out')}:v1`]));
          rss = Math.max(rss, peakRssMb(t.pid));
        } finally {
          await t.stop();
          rmSync(sub, { recursive: true, force: true });
        }
      }
      results.push({ name, push: median(push), pull: median(pull), rss });
    }
    const mb = bytes / 1e6;
    console.log(`\nregistry server: skopeo push and pull of a ${mb.toFixed(0)} MB, ${LAYERS}-layer image over loopback (median of ${RUNS})`);
    console.log(`${'server'.padEnd(14)}${'push s'.padStart(9)}${'push MB/s'.padStart(11)}${'pull s'.padStart(9)}${'pull MB/s'.padStart(11)}${'peak RSS MB'.padStart(13)}`);
    for (const r of results) {
      console.log(`${r.name.padEnd(14)}${r.push.toFixed(2).padStart(9)}${(mb / r.push).toFixed(0).padStart(11)}${r.pull.toFixed(2).padStart(9)}${(mb / r.pull).toFixed(0).padStart(11)}${r.rss.toFixed(0).padStart(13)}`);
    }
    const [b, d] = results;
    if (b && d) console.log(`berth vs distribution throughput: push ${(d.push / b.push).toFixed(2)}x, pull ${(d.pull / b.pull).toFixed(2)}x (above 1 = berth faster)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
