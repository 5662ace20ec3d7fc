/**
 * Security features' price on `docker run --rm busybox true`, printed as ratios to a plain
 * rootful berthd. Every configuration is a berthd on private roots and sockets made here,
 * driven by the real docker CLI (DOCKER_HOST at its socket), with the same busybox image
 * (imported from Debian's busybox-static):
 *
 *   rootful            berthd as root, defaults (the audit log is on by default)
 *   userns-remap       berthd --userns-remap default (root in the container is berthremap's first subordinate uid)
 *   audit log off      berthd with daemon.json "audit-log": false
 *   rootless           bin/berthd-rootless run as an ordinary user made here (useradd, subuid/subgid ranges),
 *                      under rootlesskit with slirp4netns
 *
 * Latency is the median of N runs (BENCH_RUN_RUNS, default 15), the configurations taking turns
 * run by run: this machine's speed drifts over minutes, and a ratio should not depend on which
 * configuration ran first. The docker CLI always runs as root, also against the rootless daemon
 * (root may open the user's socket): timing it through `runuser` would add runuser's own start.
 * Everything made for the rootless daemon (user, ranges, processes, dirs, /dev/net/tun's mode)
 * is undone at the end, on failure too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { REPO, Daemon, busyboxTar, tempDir, run, type RunResult } from '../test/helpers.js';
import { median } from './common.js';

const RUNS = Number(process.env.BENCH_RUN_RUNS ?? 15);


async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

function mustSync(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Config {
  name: string;
  /** The docker CLI against this configuration's daemon. */
  docker: (args: string[]) => Promise<RunResult>;
  /** Throws unless the daemon runs as configured (after a container has run). */
  verify: () => Promise<void>;
  cleanup: () => Promise<void>;
}

/** The docker CLI (as root) against a daemon's socket, with a private CLI config. */
function dockerAt(socket: string, configDir: string): (args: string[]) => Promise<RunResult> {
  return (args) => run('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir } });
}

/** A rootful berthd on private roots; `config` is merged into the daemon.json helpers.ts writes. */
async function rootful(name: string, extraArgs: string[], config: Record<string, unknown> = {}): Promise<Config> {
  const remap = extraArgs.includes('--userns-remap');
  const dir = tempDir('berth-bench-sec-');
  // The remapped root must pass through the directories above the data root (berthd checks, as dockerd).
  chmodSync(dir, 0o711);
  const d = new Daemon(dir, extraArgs);
  const file = join(dir, 'daemon.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...config }) + '\n');
  const cleanup = async () => {
    await d.removeContainers();
    await d.stop();
    // With --userns-remap, the idmapped views of layers stay mounted after the daemon stops: take them down.
    const r = join(d.dataRoot, 'snapshots', 'overlay2', 'r');
    if (existsSync(r))
      for (const k of readdirSync(r, { withFileTypes: true }).filter((e) => e.isDirectory()))
        for (const n of readdirSync(join(r, k.name))) await run('umount', ['-l', join(r, k.name, n)]);
    await d.cleanup();
  };
  try {
    await d.start();
  } catch (e) {
    await cleanup();
    throw e;
  }
  const verify = async () => {
    const sec = must(await d.docker(['info', '-f', '{{json .SecurityOptions}}']), `${name} info`).stdout;
    if (sec.includes('name=userns') !== remap) throw new Error(`${name}: SecurityOptions ${sec.trim()}`);
    const audit = existsSync(join(d.dataRoot, 'audit', 'audit.log'));
    if (audit !== (config['audit-log'] !== false)) throw new Error(`${name}: audit log ${audit ? 'written' : 'missing'}`);
  };
  return { name, docker: (a) => d.docker(a), verify, cleanup };
}

/** A subordinate range no other entry in the file overlaps. */
function freeRange(file: string): number {
  let top = 100000;
  for (const l of (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n')) {
    const [, start, count] = l.split(':');
    if (start && count) top = Math.max(top, Number(start) + Number(count));
  }
  return top;
}

/** Processes whose real uid is `uid`. */
function pidsOf(uid: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      if (Number(m?.[1]) === uid) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/**
 * bin/berthd-rootless as an ordinary user made here, set up as test/integration/rootless.test.ts
 * does (a user with subuid/subgid ranges, XDG_RUNTIME_DIR, /dev/net/tun open to it for slirp4netns).
 * Its cleanup undoes each step that was done, so it is safe to call after a failure part-way.
 */
async function rootless(): Promise<Config> {
  const user = `berthrl${randomBytes(3).toString('hex')}`;
  let uid = -1;
  let made = false;
  let tunMode: number | undefined;
  let daemon: ChildProcess | undefined;
  let work = '';
  let docker: (args: string[]) => Promise<RunResult> = async () => ({ code: 1, stdout: '', stderr: 'not started' });

  const cleanup = async () => {
    if (daemon?.pid) {
      const ids = (await docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['rm', '-f', ...ids]);
      try {
        process.kill(-daemon.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const d = daemon;
      for (let end = Date.now() + 20_000; Date.now() < end && d.exitCode === null && d.signalCode === null; ) await new Promise((r) => setTimeout(r, 200));
    }
    // Whatever the user still runs was started here (as that user): end each by its pid.
    if (uid > 0) {
      for (let i = 0; i < 5 && pidsOf(uid).length; i++) {
        for (const p of pidsOf(uid)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    if (made) {
      // The namespace's mounts went with its processes; userdel -r removes the home (the data root).
      spawnSync('userdel', ['-r', '-f', user], { stdio: 'ignore' });
      for (const f of ['/etc/subuid', '/etc/subgid']) {
        const kept = readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith(`${user}:`))
          .join('\n');
        writeFileSync(f, kept);
      }
    }
    if (tunMode !== undefined) chmodSync('/dev/net/tun', tunMode);
    if (work) rmSync(work, { recursive: true, force: true });
  };

  try {
    mustSync('useradd', ['-m', '-s', '/bin/sh', user]);
    made = true;
    uid = Number(mustSync('id', ['-u', user]).trim());
    const gid = Number(mustSync('id', ['-g', user]).trim());
    const home = mustSync('getent', ['passwd', user]).split(':')[5]!;
    // useradd gives a range where login.defs says so; make sure there is one.
    for (const [file, flag] of [
      ['/etc/subuid', '--add-subuids'],
      ['/etc/subgid', '--add-subgids'],
    ] as const) {
      if (
        !readFileSync(file, 'utf8')
          .split('\n')
          .some((l) => l.startsWith(`${user}:`))
      ) {
        const start = freeRange(file);
        mustSync('usermod', [flag, `${start}-${start + 65535}`, user]);
      }
    }
    // slirp4netns opens /dev/net/tun as the user: udev makes it 0666 on Debian; this host may not have.
    const mode = statSync('/dev/net/tun').mode & 0o777;
    if ((mode & 0o006) !== 0o006) {
      tunMode = mode;
      chmodSync('/dev/net/tun', 0o666);
    }
    // Not under /run: berthd-rootless gives the namespace a private copy of /run.
    work = mkdtempSync('/tmp/berth-bench-rootless-');
    chmodSync(work, 0o755);
    const runtimeDir = join(work, 'run');
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    const sock = join(runtimeDir, 'berth.sock');
    docker = dockerAt(sock, join(work, 'docker-config'));
    const env = ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', `HOME=${home}`, `USER=${user}`, `XDG_RUNTIME_DIR=${runtimeDir}`];
    const log = openSync(join(work, 'berthd.log'), 'w');
    daemon = spawn('runuser', ['-u', user, '--', 'env', '-i', ...env, join(REPO, 'bin', 'berthd-rootless')], { stdio: ['ignore', log, log], detached: true });
    const end = Date.now() + 60_000;
    while ((await docker(['version', '--format', '{{.Server.Version}}'])).code !== 0) {
      if (daemon.exitCode !== null || Date.now() > end)
        throw new Error(`the rootless daemon did not start:\n${readFileSync(join(work, 'berthd.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  const verify = async () => {
    const sec = must(await docker(['info', '-f', '{{json .SecurityOptions}}']), 'rootless info').stdout;
    if (!sec.includes('name=rootless')) throw new Error(`rootless: SecurityOptions ${sec.trim()}`);
  };
  return { name: 'rootless (berthd-rootless)', docker: (a) => docker(a), verify, cleanup };
}

async function main(): Promise<void> {
  const list: Config[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanAll = () => {
    cleaning ??= (async () => {
      for (const c of list.splice(0).reverse()) await c.cleanup().catch((e) => console.error(`# cleanup of ${c.name}: ${e}`));
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`# ${sig}: cleaning up`);
      void cleanAll().then(() => process.exit(130));
    });
  }
  const lat = new Map<string, number[]>();
  const names: string[] = [];
  try {
    list.push(await rootful('rootful (plain)', []));
    list.push(await rootful('rootful, --userns-remap default', ['--userns-remap', 'default']));
    list.push(await rootful('rootful, audit log off', [], { 'audit-log': false }));
    list.push(await rootless());
    for (const c of list) {
      names.push(c.name);
      lat.set(c.name, []);
      must(await c.docker(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'busybox:latest']), `${c.name} import`);
      must(await c.docker(['run', '--rm', 'busybox', 'true']), `${c.name} run`); // warm
      await c.verify();
    }
    for (let i = 0; i < RUNS; i++) {
      for (const c of list)
        lat.get(c.name)!.push(await timeIt(async () => void must(await c.docker(['run', '--rm', 'busybox', 'true']), `${c.name} run --rm`)));
    }
  } finally {
    await cleanAll();
  }
  const base = median(lat.get(names[0]!)!);
  console.log(`# Berth security configurations — docker run --rm busybox true through the docker CLI, median of ${RUNS} (turns taken run by run)`);
  console.log(['configuration', 'median ms', 'ratio to rootful', 'N'].join('\t'));
  for (const n of names) {
    const m = median(lat.get(n)!);
    console.log([n, m.toFixed(1), (m / base).toFixed(2) + 'x', String(lat.get(n)!.length)].join('\t'));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
