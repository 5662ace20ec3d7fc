/**
 * Registry storage drivers: skopeo pushes a multi-layer image of some tens of
 * MB into, and pulls it out of, Berth's registry on the filesystem driver, on
 * the S3 driver (s3rver on loopback), and Distribution (Debian's
 * `docker-registry`) on the same S3 server. The engines take turns within each
 * run (a fresh server and prefix per engine and run, so nothing is mounted or
 * cached); medians of N runs, MB/s, and ratios against Berth on S3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, run } from '../test/helpers.js';
import { RegistryProc, writeOciLayout, httpReq } from '../test/registry-helpers.js';
import { S3Server, S3_ENV, useS3Credentials } from '../test/s3-helpers.js';
import { median, noise, freePort } from './common.js';

const IMAGE_MB = Number(process.env.BENCH_REGISTRY_S3_MB ?? 40);
const RUNS = Number(process.env.BENCH_REGISTRY_S3_RUNS ?? 3);
// Layers under 32 MB: Distribution moves bigger ones with UploadPartCopy, which s3rver lacks.
const LAYERS = Math.max(4, Math.ceil(IMAGE_MB / 16));




interface Target {
  host: string;
  stop(): Promise<void>;
}
type Engine = { name: string; start(dir: string, run: number): Promise<Target> };

async function startDistributionS3(s3: S3Server, dir: string, i: number): Promise<Target> {
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  writeFileSync(
    cfg,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  redirect:',
      '    disable: true',
      '  s3:',
      `    accesskey: ${S3_ENV.AWS_ACCESS_KEY_ID}`,
      `    secretkey: ${S3_ENV.AWS_SECRET_ACCESS_KEY}`,
      '    region: us-east-1',
      `    regionendpoint: ${s3.endpoint}`,
      '    bucket: registry',
      `    rootdirectory: /distribution-${i}`,
      '    secure: false',
      '    v4auth: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  let log = '';
  // The endpoint is plain HTTP; a CA bundle in the environment would only make the Go SDK fail to start.
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const proc: ChildProcess = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stdout!.on('data', (b: Buffer) => (log += b));
  proc.stderr!.on('data', (b: Buffer) => (log += b));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await httpReq(`http://127.0.0.1:${port}/v2/`)).status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}

async function startBerth(dir: string, args: string[]): Promise<Target> {
  const r = new RegistryProc(join(dir, 'root'), args);
  await r.start();
  return { host: r.host, stop: () => r.stop() };
}

async function timed(args: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  const r = await run('skopeo', args, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v skopeo && command -v docker-registry']).status !== 0) {
    console.log('registry-s3 bench: needs skopeo and docker-registry (bash scripts/setup.sh --test)');
    return;
  }
  const dir = tempDir('berth-bench-regs3-');
  useS3Credentials();
  const s3 = new S3Server(join(dir, 's3'));
  await s3.start();
  try {
    const per = Math.floor((IMAGE_MB * 1e6) / LAYERS);
    const img = writeOciLayout(
      join(dir, 'src'),
      'v1',
      Array.from({ length: LAYERS }, (_, i) => noise(per, `layer${i}`)),
    );
    const engines: Engine[] = [
      { name: 'berth fs', start: (d) => startBerth(d, []) },
      { name: 'berth s3', start: (d, i) => startBerth(d, s3.flags('registry', `berth-${i}`)) },
      { name: 'distribution s3', start: (d, i) => startDistributionS3(s3, d, i) },
    ];
    const times = new Map<string, { push: number[]; pull: number[]; error?: string }>(engines.map((e) => [e.name, { push: [], pull: [] }]));
    for (let i = 0; i < RUNS; i++) {
      for (const e of engines) {
        const rec = times.get(e.name)!;
        if (rec.error) continue;
        const sub = join(dir, `run-${i}-${e.name.replace(/ /g, '-')}`);
        mkdirSync(sub, { recursive: true });
        let t: Target | undefined;
        try {
          t = await e.start(sub, i);
          rec.push.push(await timed(['copy', '-q', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${t.host}/bench/img:v1`]));
          rec.pull.push(await timed(['copy', '-q', '--src-tls-verify=false', `docker://${t.host}/bench/img:v1`, `oci:${join(sub, 'out')}:v1`]));
        } catch (err) {
          rec.error = (err as Error).message.split('\n')[0]!.slice(0, 300);
        } finally {
          await t?.stop();
          rmSync(sub, { recursive: true, force: true });
        }
      }
    }
    const mb = (per * LAYERS) / 1e6;
    console.log(
      `\nregistry storage drivers: skopeo push and pull of a ${mb.toFixed(0)} MB, ${LAYERS}-layer image over loopback, S3 = s3rver (median of ${RUNS}, engines taking turns)`,
    );
    console.log(`${'engine'.padEnd(18)}${'push s'.padStart(9)}${'push MB/s'.padStart(11)}${'pull s'.padStart(9)}${'pull MB/s'.padStart(11)}`);
    const base = times.get('berth s3')!;
    for (const [name, r] of times) {
      if (r.error || !r.push.length) {
        console.log(`${name.padEnd(18)}  not measured: ${r.error ?? 'no runs'}`);
        // Distribution resumes an upload by listing the bucket's multipart uploads (ListMultipartUploads): s3rver answers 501.
        if (name.startsWith('distribution'))
          console.log(`${''.padEnd(18)}  (Distribution's S3 driver needs ListMultipartUploads, which s3rver does not implement)`);
        continue;
      }
      const [push, pull] = [median(r.push), median(r.pull)];
      console.log(
        `${name.padEnd(18)}${push.toFixed(2).padStart(9)}${(mb / push).toFixed(0).padStart(11)}${pull.toFixed(2).padStart(9)}${(mb / pull).toFixed(0).padStart(11)}`,
      );
    }
    for (const [name, r] of times) {
      if (name === 'berth s3' || r.error || !r.push.length || base.error || !base.push.length) continue;
      console.log(
        `berth s3 vs ${name}: push ${(median(r.push) / median(base.push)).toFixed(2)}x, pull ${(median(r.pull) / median(base.pull)).toFixed(2)}x (above 1 = berth s3 faster)`,
      );
    }
  } finally {
    await s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
