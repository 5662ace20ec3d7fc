/**
 * Rootless mode end to end: an ordinary user (made here with useradd, with subuid/subgid ranges)
 * starts bin/berthd-rootless, and as that user the docker CLI and berth run containers, use a
 * volume, publish a port that answers on the host's loopback, build, push to and pull from a
 * registry on the host's loopback, and get a plain warning for a limit that cannot apply. From
 * root's side: the daemon and the container processes run as the user's uid, files the
 * container's root writes belong to the user, and the user's daemon cannot read or write root's
 * files through a bind mount. Everything made (user, processes, registry, dirs) is removed after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
  openSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { get } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BERTH, REPO, busyboxTar, run, type RunResult } from '../helpers.js';

const USER = `berthrl${randomBytes(3).toString('hex')}`;
let uid = 0;
let gid = 0;
let home = '';
let work = '';
let runtimeDir = '';
let sock = '';
let daemon: ChildProcess | undefined;
let registry: ChildProcess | undefined;
let regPort = 0;
let tunMode: number | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The environment the user's shell would have. */
function userEnv(extra: Record<string, string> = {}): string[] {
  return [
    'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    `HOME=${home}`,
    `USER=${USER}`,
    `XDG_RUNTIME_DIR=${runtimeDir}`,
    `DOCKER_HOST=unix://${sock}`,
    `DOCKER_CONFIG=${join(home, '.docker')}`,
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
}

/** A command run as the user (runuser, with a clean environment). */
function asUser(cmd: string, args: string[], opts: { input?: string; extra?: Record<string, string> } = {}): Promise<RunResult> {
  return run('runuser', ['-u', USER, '--', 'env', '-i', ...userEnv(opts.extra), cmd, ...args], { input: opts.input, timeoutMs: 120_000 });
}

const docker = (...args: string[]) => asUser('docker', args);

function statusUid(pid: number): number {
  const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

function fetchBody(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/index.html', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', () => resolve(true));
  });
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function userPids(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (statusUid(Number(d)) === uid) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
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

before(async () => {
  must('useradd', ['-m', '-s', '/bin/sh', USER]);
  uid = Number(must('id', ['-u', USER]).trim());
  gid = Number(must('id', ['-g', USER]).trim());
  home = must('getent', ['passwd', USER]).split(':')[5]!;
  // useradd gives a range where login.defs says so; make sure there is one.
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ] as const) {
    if (!readFileSync(file, 'utf8').includes(`\n${USER}:`) && !readFileSync(file, 'utf8').startsWith(`${USER}:`)) {
      const start = freeRange(file);
      must('usermod', [flag, `${start}-${start + 65535}`, USER]);
    }
  }
  // slirp4netns opens /dev/net/tun as the user: udev makes it 0666 on Debian; this host may not have.
  const mode = statSync('/dev/net/tun').mode & 0o777;
  if ((mode & 0o006) !== 0o006) {
    tunMode = mode;
    chmodSync('/dev/net/tun', 0o666);
  }
  work = mkdtempSync('/tmp/berth-rootless-');
  chmodSync(work, 0o755);
  runtimeDir = join(work, 'run');
  mkdirSync(runtimeDir, { mode: 0o700 });
  chownSync(runtimeDir, uid, gid);
  sock = join(runtimeDir, 'berth.sock');
  copyFileSync(busyboxTar(), join(work, 'busybox.tar'));
  chmodSync(join(work, 'busybox.tar'), 0o644);
  // A registry on the host's loopback, reached from the namespace as 10.0.2.2 (slirp4netns).
  regPort = await freePort();
  writeFileSync(
    join(work, 'registry.yml'),
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: 127.0.0.1:${regPort}\n`,
  );
  registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  mkdirSync(join(home, '.config', 'berth'), { recursive: true });
  writeFileSync(join(home, '.config', 'berth', 'daemon.json'), JSON.stringify({ 'insecure-registries': [`10.0.2.2:${regPort}`] }));
  must('chown', ['-R', `${uid}:${gid}`, join(home, '.config')]);

  const log = openSync(join(work, 'berthd.log'), 'w');
  daemon = spawn(
    'runuser',
    ['-u', USER, '--', 'env', '-i', ...userEnv({ BERTHD_ROOTLESS_HOST_LOOPBACK: '1' }), join(REPO, 'bin', 'berthd-rootless'), '--log-level', 'debug'],
    { stdio: ['ignore', log, log], detached: true },
  );
  await waitFor('the rootless daemon', async () => (await docker('version', '--format', '{{.Server.Version}}')).code === 0, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${readFileSync(join(work, 'berthd.log'), 'utf8')}`);
  });
  const imp = await docker('import', '--change', 'CMD ["sh"]', join(work, 'busybox.tar'), 'busybox:latest');
  assert.equal(imp.code, 0, imp.stderr);
});

after(async () => {
  if (daemon?.pid) {
    await docker('rm', '-f', ...(await docker('ps', '-aq')).stdout.split('\n').filter(Boolean)).catch(() => {});
    try {
      process.kill(-daemon.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await waitFor('the daemon to stop', () => daemon!.exitCode !== null || daemon!.signalCode !== null, 20_000).catch(() => {});
  }
  // Whatever the user still runs was started by this test (as that user): end each by its pid.
  for (let i = 0; i < 3 && userPids().length; i++) {
    for (const p of userPids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  registry?.kill('SIGTERM');
  // The namespace's mounts went with its processes; userdel -r removes the home (data root) and the ranges.
  spawnSync('userdel', ['-r', '-f', USER], { stdio: 'ignore' });
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const kept = readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith(`${USER}:`))
      .join('\n');
    writeFileSync(f, kept);
  }
  if (tunMode !== undefined) chmodSync('/dev/net/tun', tunMode);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the daemon runs as the user, its socket is the user's, and docker info says rootless", async () => {
  const st = statSync(sock);
  assert.equal(st.uid, uid);
  assert.equal(st.mode & 0o777, 0o660);
  const berthd = userPids().filter((p) => /bin\/berthd/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')));
  assert.ok(berthd.length > 0, "berthd runs under the user's uid");
  for (const p of berthd) assert.equal(statusUid(p), uid);
  const info = await docker('info', '--format', '{{json .}}');
  assert.equal(info.code, 0, info.stderr);
  const i = JSON.parse(info.stdout) as Record<string, unknown>;
  assert.ok((i.SecurityOptions as string[]).includes('name=rootless'), JSON.stringify(i.SecurityOptions));
  assert.equal(i.CgroupDriver, 'none');
  assert.equal(i.DockerRootDir, join(home, '.local', 'share', 'berth'));
  assert.equal(i.Driver, 'overlay2');
  assert.ok(
    (i.Warnings as string[]).some((w) => /rootless-mode without cgroups/.test(w)),
    JSON.stringify(i.Warnings),
  );
  const plain = await docker('info');
  assert.match(plain.stderr + plain.stdout, /WARNING: Running in rootless-mode without cgroups/);
});

test('root in the container is the user on the host', async () => {
  const id = await docker('run', '--rm', 'busybox', 'id');
  assert.equal(id.code, 0, id.stderr);
  assert.match(id.stdout, /^uid=0\(root\) gid=0\(root\)/);
  const d = await docker('run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '300');
  assert.equal(d.code, 0, d.stderr);
  const pid = Number((await docker('inspect', '-f', '{{.State.Pid}}', 'sleeper')).stdout.trim());
  assert.ok(pid > 0);
  assert.equal(statusUid(pid), uid, "the container's root is the user's uid on the host");
  assert.match(readFileSync(`/proc/${pid}/uid_map`, 'utf8'), new RegExp(`^\\s*0\\s+${uid}\\s+1\\s*$`, 'm'));
  const ex = await docker('exec', 'sleeper', 'sh', '-c', 'id -u; touch /made-by-exec');
  assert.equal(ex.stdout, '0\n', ex.stderr);
  assert.equal((await docker('rm', '-f', 'sleeper')).code, 0);
});

test('a volume keeps data across containers, owned by the user on the host', async () => {
  assert.equal((await docker('volume', 'create', 'rlvol')).code, 0);
  const w = await docker('run', '--rm', '-v', 'rlvol:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f');
  assert.equal(w.code, 0, w.stderr);
  const r = await docker('run', '--rm', '-v', 'rlvol:/data', 'busybox', 'cat', '/data/f');
  assert.equal(r.stdout, 'kept\n');
  const mp = (await docker('volume', 'inspect', '-f', '{{.Mountpoint}}', 'rlvol')).stdout.trim();
  assert.ok(mp.startsWith(join(home, '.local', 'share', 'berth')), mp);
  assert.equal(statSync(join(mp, 'f')).uid, uid);
});

test('-p publishes on the host through rootlesskit, and the port closes with the container', async () => {
  const port = await freePort();
  const r = await docker(
    'run',
    '-d',
    '--name',
    'web',
    '-p',
    `127.0.0.1:${port}:8080`,
    'busybox',
    'sh',
    '-c',
    'echo hello-rootless > /tmp/index.html; exec httpd -f -p 8080 -h /tmp',
  );
  assert.equal(r.code, 0, r.stderr);
  let body = '';
  await waitFor('the published port', async () => {
    body = await fetchBody(port).catch(() => '');
    return body !== '';
  });
  assert.equal(body, 'hello-rootless\n');
  assert.match((await docker('port', 'web')).stdout, new RegExp(`8080/tcp -> 127.0.0.1:${port}`));
  assert.equal((await docker('rm', '-f', 'web')).code, 0);
  await waitFor('the host port to close', () => refused(port), 10_000);

  // A host port something else holds is refused in Docker's words.
  const busy = createServer().listen(0, '0.0.0.0');
  await new Promise((res) => busy.once('listening', res));
  const taken = (busy.address() as { port: number }).port;
  const clash = await docker('run', '--rm', '-p', `${taken}:80`, 'busybox', 'true');
  busy.close();
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${taken} failed: port is already allocated`));
});

test('build: RUN, COPY and a directory replaced (an opaque whiteout on user xattrs)', async () => {
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nRUN mkdir /d && touch /d/old && echo built > /built && chown 1234:1234 /built\nRUN rm -rf /d && mkdir /d && touch /d/new\nCOPY hello.txt /hello.txt\nCMD ["sh", "-c", "cat /built /hello.txt; ls /d; stat -c %u /built"]\n',
  );
  writeFileSync(join(ctx, 'hello.txt'), 'from the context\n');
  must('chmod', ['-R', 'a+rX', ctx]);
  const b = await docker('build', '-t', 'rlbuild', ctx);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const r = await docker('run', '--rm', 'rlbuild');
  assert.equal(r.stdout, 'built\nfrom the context\nnew\n1234\n', r.stderr);
});

test("push to and pull from a registry on the host's loopback (10.0.2.2 from the namespace)", async () => {
  const ref = `10.0.2.2:${regPort}/rl/busybox:v1`;
  assert.equal((await docker('tag', 'busybox', ref)).code, 0);
  const push = await docker('push', ref);
  assert.equal(push.code, 0, push.stderr);
  assert.equal((await docker('rmi', ref)).code, 0);
  const pull = await docker('pull', ref);
  assert.equal(pull.code, 0, pull.stderr);
  const r = await docker('run', '--rm', ref, 'echo', 'pulled');
  assert.equal(r.stdout, 'pulled\n');
});

test('limits that cannot apply are discarded with a plain warning, never silently', async () => {
  const c = await docker('create', '--name', 'limited', '-m', '64m', '--pids-limit', '10', '--cpus', '0.5', 'busybox', 'true');
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /WARNING: The memory limit \(--memory\) was discarded: berthd runs rootless and the host delegates no cgroups/);
  assert.match(c.stderr, /PIDs limit \(--pids-limit\) was discarded/);
  assert.match(c.stderr, /CPU limit \(--cpus\) was discarded/);
  assert.equal((await docker('inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', 'limited')).stdout.trim(), '0 0');
  const s = await docker('start', '-a', 'limited');
  assert.equal(s.code, 0, s.stderr);
  await docker('rm', '-f', 'limited');
});

test('berth drives the rootless daemon too', async () => {
  const r = await asUser(BERTH, ['run', '--rm', 'busybox', 'echo', 'via berth'], { extra: { BERTH_HOST: `unix://${sock}` } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'via berth\n');
});

test("hostile: the user's containers cannot read or change root's files through bind mounts", async () => {
  const shadow = await docker('run', '--rm', '-v', '/etc/shadow:/shadow:ro', 'busybox', 'cat', '/shadow');
  assert.notEqual(shadow.code, 0);
  assert.match(shadow.stderr, /Permission denied/);
  assert.doesNotMatch(shadow.stdout, /root:/);
  const rootHome = await docker('run', '--rm', '-v', '/root:/r', 'busybox', 'ls', '/r');
  assert.notEqual(rootHome.code, 0);
  assert.match(rootHome.stderr, /Permission denied/);
  const before = readFileSync('/etc/passwd', 'utf8');
  const write = await docker('run', '--rm', '--privileged', '-v', '/etc:/hostetc', 'busybox', 'sh', '-c', 'echo evil::0:0::/:/bin/sh >> /hostetc/passwd');
  assert.notEqual(write.code, 0);
  assert.match(write.stderr, /Permission denied/);
  assert.equal(readFileSync('/etc/passwd', 'utf8'), before);
});

test('berthd-rootless refuses root, and berthd --rootless refuses to run outside rootlesskit', async () => {
  const asRoot = await run(join(REPO, 'bin', 'berthd-rootless'), [], { env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } });
  assert.notEqual(asRoot.code, 0);
  assert.match(asRoot.stderr, /run this as an ordinary user, not as root/);
  const outside = await asUser(join(REPO, 'bin', 'berthd'), ['--rootless', '-H', `unix://${join(runtimeDir, 'other.sock')}`]);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /rootless mode needs berthd to run inside rootlesskit's user namespace/);
});
