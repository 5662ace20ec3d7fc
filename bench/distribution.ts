/**
 * Pull throughput, Berth against Docker (and podman if installed): a cold
 * pull of a ~BENCH_PULL_MB (default 100) MB, 5-layer gzip image from
 * Debian's reference registry on loopback. Each engine runs on private roots;
 * "cold" means the image and its layers are removed before every run.
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

const PULL_MB = Number(process.env.BENCH_PULL_MB ?? 100);
const LAYERS = 5;
const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 3);

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A layer tar of files that compress about 2:1, like binaries and libraries. */
async function layerTar(i: number, bytes: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => { for await (const c of p) chunks.push(c as Buffer); })();
  for (let n = 0, f = 0; n < bytes; f++) {
    const size = Math.min(1 << 20, bytes - n);
    const data = Buffer.alloc(size);
    for (let o = 0; o < size; o += 8192) {
      randomBytes(4096).copy(data, o);
      data.fill(f % 251, o + 4096, Math.min(size, o + 8192));
    }
    await new Promise<void>((res, rej) => p.entry({ name: `layer${i}/file${f}`, mode: 0o644, mtime: new Date(1_700_000_000_000) }, data, (e) => (e ? rej(e) : res())));
    n += size;
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function pushBenchImage(reg: Registry): Promise<{ name: string; compressedMb: number }> {
  const hosts = new RegistryHosts({});
  const [ep] = await hosts.endpoints(reg.host);
  const client = new RepositoryClient({ ...ep!, url: new URL(`http://${reg.host}/`) }, 'bench/pull', undefined, true);
  const layers = [];
  const diffIds = [];
  let total = 0;
  for (let i = 0; i < LAYERS; i++) {
    const tar = await layerTar(i, Math.floor((PULL_MB * 1e6) / LAYERS));
    const gz = gzipSync(tar, { level: 1 });
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
  return { name: `${reg.host}/bench/pull:latest`, compressedMb: total / 1e6 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Engine { name: string; cli: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>; cleanup: () => Promise<void> }

async function main(): Promise<void> {
  const work = tempDir('berth-bench-dist-');
  const reg = new Registry(join(work, 'registry'));
  await reg.start();
  const { name, compressedMb } = await pushBenchImage(reg);
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
    for (const e of engines) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await e.cli(['rmi', '-f', name]);
        if (e.name !== 'berth') await e.cli(['image', 'prune', '-af']);
        const t = process.hrtime.bigint();
        const r = await e.cli(['pull', '-q', name]);
        const s = Number(process.hrtime.bigint() - t) / 1e9;
        if (r.code !== 0) throw new Error(`${e.name} pull failed: ${r.stderr}`);
        times.push(s);
      }
      secs[e.name] = median(times);
    }
  } finally {
    for (const e of engines) await e.cleanup();
    await reg.stop();
    spawnSync('rm', ['-rf', work]);
  }
  const names = engines.map((e) => e.name);
  console.log(`# Berth pull benchmark — ${LAYERS} gzip layers, ${PULL_MB} MB unpacked / ${compressedMb.toFixed(0)} MB compressed, cold, median of ${RUNS}`);
  console.log(['metric', ...names, ...names.filter((n) => n !== 'berth').map((n) => `berth/${n}`)].join('\t'));
  console.log(['pull seconds', ...names.map((n) => secs[n]!.toFixed(2)), ...names.filter((n) => n !== 'berth').map((n) => (secs[n]! / secs.berth!).toFixed(2) + 'x faster')].join('\t'));
  console.log(['pull MB/s (compressed)', ...names.map((n) => (compressedMb / secs[n]!).toFixed(1))].join('\t'));
}

main().catch((err) => { console.error(err); process.exit(1); });
