/**
 * Pull throughput, Berth against Docker (and podman if installed): a cold
 * pull of a ~BENCH_PULL_MB (default 300) MB, 7-layer gzip image from
 * Debian's reference registry on loopback. Layers are uneven (a big base,
 * smaller ones on top) and hold files of a distribution image's sizes, most
 * a few KB, a few of hundreds of KB, about 36 KB on average. Each engine runs on
 * private roots; "cold" means none of the image's layers are there: each run
 * pulls a new image.
 */
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { BERTH, Daemon, RealDockerd, tempDir, run } from '../test/helpers.js';
import { Registry } from '../test/registry-peer.js';
import { RepositoryClient } from '../src/distribution/client.js';
import { RegistryHosts } from '../src/distribution/endpoints.js';
import { closeAgents } from '../src/distribution/http.js';
import { median } from './common.js';

const PULL_MB = Number(process.env.BENCH_PULL_MB ?? 300);
/** Each layer's share of the image, base layer first. */
const LAYER_SHARES = [0.27, 0.2, 0.17, 0.13, 0.1, 0.08, 0.05];
const LAYERS = LAYER_SHARES.length;
/** File sizes cycled through: mostly small, as in /usr of a distribution image (mean ~30 KB). */
const FILE_SIZES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 1, 2, 4, 8, 48, 64, 96, 128, 256, 512].map((k) => k * 1024);
const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 3);

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

let files = 0;

/** A layer tar of files that compress about 2:1, like binaries and libraries, 64 to a directory. */
async function layerTar(i: number, bytes: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of p) chunks.push(c as Buffer); })();
  const mtime = new Date(1_700_000_000_000);
  const add = (header: Parameters<typeof p.entry>[0], data?: Buffer) =>
    new Promise<void>((res, rej) => p.entry({ mtime, ...header }, data ?? Buffer.alloc(0), (e) => (e ? rej(e) : res())));
  for (let n = 0, f = 0; n < bytes; f++) {
    if (f % 64 === 0) await add({ name: `layer${i}/d${f / 64}/`, type: 'directory', mode: 0o755 });
    const size = Math.min(FILE_SIZES[(f * 7 + i) % FILE_SIZES.length]!, bytes - n);
    const data = Buffer.alloc(size);
    for (let o = 0; o < size; o += 1024) {
      randomBytes(Math.min(512, size - o)).copy(data, o);
      data.fill(f % 251, o + 512, Math.min(size, o + 1024));
    }
    await add({ name: `layer${i}/d${Math.floor(f / 64)}/file${f}`, mode: 0o644 }, data);
    n += size;
    files++;
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Push one bench image (fresh random content) as <registry>/bench/pull<n>:latest. */
export async function pushBenchImage(reg: Registry, n = 0): Promise<{ name: string; compressedMb: number; files: number }> {
  const hosts = new RegistryHosts({});
  const [ep] = await hosts.endpoints(reg.host);
  const client = new RepositoryClient({ ...ep!, url: new URL(`http://${reg.host}/`) }, `bench/pull${n}`, undefined, true);
  files = 0;
  const layers = [];
  const diffIds = [];
  let total = 0;
  for (let i = 0; i < LAYERS; i++) {
    const tar = await layerTar(i, Math.floor(PULL_MB * 1e6 * LAYER_SHARES[i]!));
    const gz = gzipSync(tar);
    diffIds.push(sha(tar));
    const d = sha(gz);
    await client.putBlob(await client.startUpload(), d, gz.length, gz);
    layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: d });
    total += gz.length;
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'bench' })),
  }));
  await client.putBlob(await client.startUpload(), sha(config), config.length, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) }, layers,
  }));
  await client.putManifest('latest', manifest, 'application/vnd.docker.distribution.manifest.v2+json');
  return { name: `${reg.host}/bench/pull${n}:latest`, compressedMb: total / 1e6, files };
}


interface Engine { name: string; cli: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>; cleanup: () => Promise<void> }

async function main(): Promise<void> {
  const work = tempDir('berth-bench-dist-');
  const reg = new Registry(join(work, 'registry'));
  await reg.start();
  // A distinct image per run, nothing removed in between: on ext4 without a journal (some VMs),
  // creating inodes right after thousands were deleted crawls, which no cold pull on a user's
  // machine sees. Every engine pulls image i in run i, in turns.
  const images = [];
  for (let i = 0; i < RUNS; i++) images.push(await pushBenchImage(reg, i));
  const { compressedMb, files } = images[0]!;
  closeAgents();

  const engines: Engine[] = [];
  const berth = new Daemon(tempDir('berth-bench-'));
  await berth.start();
  engines.push({ name: 'berth', cli: (a) => run(BERTH, ['-H', berth.host, ...a], { timeoutMs: 600_000 }), cleanup: () => berth.cleanup() });
  if (spawnSync('which', ['dockerd']).status === 0) {
    const docker = new RealDockerd(tempDir('berth-bench-dockerd-'));
    await docker.start();
    engines.push({ name: 'docker', cli: (a) => docker.docker(a), cleanup: () => docker.cleanup() });
  } else console.log('# dockerd not installed: docker column skipped');
  if (spawnSync('which', ['podman']).status === 0) {
    const root = tempDir('berth-bench-podman-');
    const base = ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--storage-driver', 'overlay'];
    engines.push({
      name: 'podman',
      cli: (a) => run('podman', [...base, ...a, ...(a[0] === 'pull' ? ['--tls-verify=false'] : [])], { timeoutMs: 600_000 }),
      cleanup: async () => { spawnSync('podman', [...base, 'system', 'reset', '-f']); spawnSync('rm', ['-rf', root]); },
    });
  }

  const secs: Record<string, number> = {};
  try {
    const times: Record<string, number[]> = Object.fromEntries(engines.map((e) => [e.name, []]));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? engines : [...engines].reverse();
      for (const e of order) {
        const t = process.hrtime.bigint();
        const r = await e.cli(['pull', '-q', images[i]!.name]);
        const s = Number(process.hrtime.bigint() - t) / 1e9;
        if (r.code !== 0) throw new Error(`${e.name} pull failed: ${r.stderr}`);
        times[e.name]!.push(s);
      }
    }
    for (const e of engines) secs[e.name] = median(times[e.name]!);
  } finally {
    for (const e of engines) await e.cleanup();
    await reg.stop();
    spawnSync('rm', ['-rf', work]);
  }
  const names = engines.map((e) => e.name);
  console.log(`# Berth pull benchmark — ${LAYERS} gzip layers, ${PULL_MB} MB unpacked in ${files} files / ${compressedMb.toFixed(0)} MB compressed, cold, median of ${RUNS}, each run a new image`);
  console.log(['metric', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  console.log(['pull seconds', ...names.map((n) => secs[n]!.toFixed(2)), ...names.filter((n) => n !== 'berth').map((n) => (secs[n]! / secs.berth!).toFixed(2) + 'x faster')].join('\t'));
  console.log(['pull MB/s (compressed)', ...names.map((n) => (compressedMb / secs[n]!).toFixed(1))].join('\t'));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main().catch((err) => { console.error(err); process.exit(1); });
