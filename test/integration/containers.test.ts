/** Containers end to end: lifecycle, streams, limits, secure defaults, errors — through berth and the docker CLI. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync, mkdtempSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, run, BERTH } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function inspect(id: string, fmt: string): Promise<string> {
  const r = await d.berth(['inspect', '-f', fmt, id]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** The cgroup file a limit lands in, on v1 or v2 hosts. */
function cgroupFile(id: string, v1: string, v2: string): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return readFileSync(`/sys/fs/cgroup/berth/${id}/${v2}`, 'utf8').trim();
  const [ctrl, file] = v1.split('/') as [string, string];
  return readFileSync(`/sys/fs/cgroup/${ctrl}/berth/${id}/${file}`, 'utf8').trim();
}

/** Every cgroup dir the container has, on v1, v2 and hybrid hosts. */
function cgroupDirs(id: string): string[] {
  const root = '/sys/fs/cgroup';
  const candidates = [join(root, 'berth', id), ...readdirSync(root).map((h) => join(root, h, 'berth', id))];
  return candidates.filter((p) => existsSync(p));
}

test("run prints output, keeps stdout and stderr apart, and exits with the container's code", async () => {
  const r = await d.berth(['run', '--name', 'codes', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(await inspect('codes', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 3');
  const ps = await d.berth(['ps', '-a', '--filter', 'name=codes', '--format', '{{.Names}}|{{.Status}}|{{.Command}}']);
  assert.match(ps.stdout, /^codes\|Exited \(3\) .* ago\|"sh -c 'echo out; e…"\n$|^codes\|Exited \(3\) .* ago\|"sh -c echo out; ech…"\n$/);
  await d.berth(['rm', 'codes']);
});

test('run --rm leaves nothing behind; the docker CLI runs the same way', async () => {
  const before = (await d.berth(['ps', '-aq'])).stdout;
  const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello\n');
  const viaDocker = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo via docker; exit 7']);
  assert.equal(viaDocker.code, 7, viaDocker.stderr);
  assert.equal(viaDocker.stdout, 'via docker\n');
  await sleep(200);
  assert.equal((await d.berth(['ps', '-aq'])).stdout, before);
  const active = join(d.dataRoot, 'snapshots');
  const drivers = readdirSync(active);
  for (const drv of drivers)
    assert.deepEqual(
      readdirSync(join(active, drv, 'active')).filter((k) => !before.includes(k.slice(0, 12))),
      [],
    );
});

test('detached containers: ps, inspect, logs, stop with SIGKILL after the timeout, start again', async () => {
  const id = (await d.berth(['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '1000'])).stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = await d.berth(['ps', '--format', '{{.ID}} {{.Names}} {{.State}}']);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} sleeper running$`, 'm'));
  const pid = Number(await inspect('sleeper', '{{.State.Pid}}'));
  assert.ok(pid > 0);
  assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
  // sleep as PID 1 ignores SIGTERM: stop waits -t seconds, then kills.
  const t0 = Date.now();
  const stop = await d.berth(['stop', '-t', '1', 'sleeper']);
  assert.equal(stop.stdout, 'sleeper\n');
  assert.ok(Date.now() - t0 >= 1000);
  assert.equal(await inspect('sleeper', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}'), 'exited 137 false');
  // The exit removed what the runtime kept: its state dir and every cgroup dir.
  assert.equal(existsSync(join(d.execRoot, 'runc', id)), false);
  assert.deepEqual(cgroupDirs(id), []);
  assert.equal((await d.berth(['start', 'sleeper'])).code, 0);
  assert.equal(await inspect('sleeper', '{{.State.Running}}'), 'true');
  // Started for runc too: its own view, not just ours, and its cgroups are back.
  const state = spawnSync('runc', ['--root', join(d.execRoot, 'runc'), 'state', id], { encoding: 'utf8' });
  assert.equal((JSON.parse(state.stdout) as { status: string }).status, 'running', state.stderr);
  assert.ok(cgroupDirs(id).length > 0);
  const rm = await d.berth(['rm', 'sleeper']);
  assert.equal(rm.code, 1);
  assert.equal(
    rm.stderr,
    `Error response from daemon: You cannot remove a running container ${id}. Stop the container before attempting removal or force remove\n`,
  );
  assert.equal((await d.berth(['rm', '-f', 'sleeper'])).code, 0);
  assert.equal((await d.berth(['inspect', 'sleeper'])).code, 1);
});

test('a process that handles SIGTERM stops at once; kill -s sends the signal; wait returns the code', async () => {
  await d.berth(['run', '-d', '--name', 'trapper', 'busybox', 'sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done']);
  await sleep(300);
  const t0 = Date.now();
  assert.equal((await d.berth(['stop', 'trapper'])).code, 0);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(await inspect('trapper', '{{.State.ExitCode}}'), '42');
  await d.berth(['start', 'trapper']);
  await sleep(300);
  const wait = d.berth(['wait', 'trapper']);
  await sleep(200);
  assert.equal((await d.berth(['kill', '-s', 'TERM', 'trapper'])).code, 0);
  assert.equal((await wait).stdout, '42\n');
  const notRunning = await d.berth(['kill', 'trapper']);
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, /is not running/);
  await d.berth(['rm', 'trapper']);
});

test('logs: streams, --tail, -t, and -f until the container exits', async () => {
  await d.berth(['run', '--name', 'talker', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2']);
  const all = await d.berth(['logs', 'talker']);
  assert.equal(all.stdout, 'line1\nline2\nline3\nline4\nline5\n');
  assert.equal(all.stderr, 'oops\n');
  assert.equal((await d.berth(['logs', '--tail', '2', 'talker'])).stdout, 'line5\n');
  assert.match((await d.berth(['logs', '-t', '--tail', '1', 'talker'])).stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$/);
  const viaDocker = await d.docker(['logs', 'talker']);
  assert.equal(viaDocker.stdout, all.stdout);
  await d.berth(['rm', 'talker']);
  await d.berth(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick$i; sleep 0.3; done']);
  const f = await d.berth(['logs', '-f', 'ticker']);
  assert.equal(f.stdout, 'tick1\ntick2\ntick3\n');
  await d.berth(['rm', 'ticker']);
});

test("limits land in the container's cgroup (the course's example) and a fork bomb stops at the pids limit", async () => {
  const id = (await d.berth(['run', '-d', '--cpus=1', '-m=2g', '--pids-limit=1000', 'busybox', 'sleep', '1000'])).stdout.trim();
  assert.equal(cgroupFile(id, 'memory/memory.limit_in_bytes', 'memory.max'), '2147483648');
  assert.equal(cgroupFile(id, 'pids/pids.max', 'pids.max'), '1000');
  const quota = existsSync('/sys/fs/cgroup/cgroup.controllers') ? cgroupFile(id, '', 'cpu.max') : cgroupFile(id, 'cpu/cpu.cfs_quota_us', '');
  assert.match(quota, /^100000( 100000)?$/);
  assert.equal(await inspect(id, '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}'), '2147483648 1000000000 1000');
  // update changes the live limit.
  assert.equal((await d.berth(['update', '-m', '1g', id])).code, 0);
  assert.equal(cgroupFile(id, 'memory/memory.limit_in_bytes', 'memory.max'), '1073741824');
  await d.berth(['rm', '-f', id]);

  const bomb = (
    await d.berth(['run', '-d', '--pids-limit=50', 'busybox', 'sh', '-c', 'sh -c "for i in \\$(seq 200); do sleep 30 & done" 2>/dev/null; sleep 30'])
  ).stdout.trim();
  await sleep(1500);
  const current = Number(cgroupFile(bomb, 'pids/pids.current', 'pids.current'));
  assert.ok(current <= 50 && current >= 40, `pids.current = ${current}`);
  assert.equal((await d.berth(['ps', '-q'])).code, 0, 'the daemon still answers');
  await d.berth(['rm', '-f', bomb]);
});

test('an OOM kill is reported: exit 137, OOMKilled, an oom event', async () => {
  const since = Math.floor(Date.now() / 1000);
  const r = await d.berth(['run', '--name', 'hog', '-m', '16m', '--memory-swap', '16m', 'busybox', 'sh', '-c', 'x=a; while true; do x=$x$x; done']);
  assert.equal(r.code, 137, r.stderr);
  assert.equal(await inspect('hog', '{{.State.OOMKilled}} {{.State.ExitCode}}'), 'true 137');
  const ev = await d.berth([
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'container=hog',
    '--format',
    '{{.Action}}',
  ]);
  assert.match(ev.stdout, /^oom$/m);
  await d.berth(['rm', 'hog']);
});

test("secure defaults: Docker's capabilities, masked /proc paths, managed /etc files; --privileged lifts them", async () => {
  const r = await d.berth([
    'run',
    '--rm',
    '--name',
    'secure',
    '-h',
    'box',
    'busybox',
    'sh',
    '-c',
    'grep CapEff /proc/self/status; cat /etc/hostname; grep box /etc/hosts; wc -c < /proc/keys; grep " /proc/sys " /proc/mounts',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'CapEff:\t00000000a80425fb');
  assert.equal(lines[1], 'box');
  assert.match(lines[2]!, /\tbox$/);
  assert.equal(lines[3], '0', '/proc/keys is masked');
  assert.match(lines[4]!, /^proc \/proc\/sys proc ro,/);
  const p = await d.berth(['run', '--rm', '--privileged', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
  assert.notEqual(p.stdout, 'CapEff:\t00000000a80425fb\n');
  const u = await d.berth(['run', '--rm', '-u', '1000:1000', '--cap-drop', 'ALL', 'busybox', 'sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status']);
  assert.equal(u.stdout, '1000\n1000\nCapEff:\t0000000000000000\n');
});

test('/sys/fs/cgroup is read-only inside a container (its own limits still readable); --privileged makes it writable', async () => {
  const id = (await d.berth(['run', '-d', '-m', '64m', 'busybox', 'sleep', '300'])).stdout.trim();
  try {
    const r = await d.berth([
      'exec',
      id,
      'sh',
      '-c',
      'touch /sys/fs/cgroup/x; mkdir /sys/fs/cgroup/y; for c in /sys/fs/cgroup/*/; do [ -d "$c" ] && mkdir "${c}z"; done; ' +
        'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    assert.equal(r.stdout.trim(), '67108864', r.stderr);
    assert.match(r.stderr, /touch: \/sys\/fs\/cgroup\/x: Read-only file system/);
    assert.match(r.stderr, /mkdir: can't create directory '\/sys\/fs\/cgroup\/y': Read-only file system/);
    for (const line of r.stderr.trim().split('\n')) assert.match(line, /Read-only file system$/, 'every write fails as read-only');
    const inside = (await d.berth(['exec', id, 'ls', '/sys/fs/cgroup'])).stdout.split('\n');
    assert.ok(!inside.includes('x') && !inside.includes('y'));
    // Nothing reached the host: no child cgroup under the container's own.
    const dirs = cgroupDirs(id);
    assert.ok(dirs.length > 0);
    for (const dir of dirs) for (const n of ['x', 'y', 'z']) assert.equal(existsSync(join(dir, n)), false, join(dir, n));
  } finally {
    await d.berth(['rm', '-f', id]);
  }
  const p = await d.berth(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'mkdir /sys/fs/cgroup/y && rmdir /sys/fs/cgroup/y && echo written']);
  assert.equal(p.stdout, 'written\n', p.stderr);
});

/** The command's stdout, trimmed, after checking it succeeded. */
async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('seccomp: a filter by default (namespaces, key rings denied); unconfined, privileged and CAP_SYS_ADMIN lift it; a profile file through both CLIs', async () => {
  const probe = 'grep Seccomp: /proc/self/status; unshare -U true && echo userns-ok';
  const def = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', probe]);
  assert.equal(def.stdout, 'Seccomp:\t2\n');
  assert.match(def.stderr, /unshare\(0x10000000\): Operation not permitted/);
  assert.equal((await d.berth(['run', '--rm', '--security-opt', 'seccomp=unconfined', 'busybox', 'sh', '-c', probe])).stdout, 'Seccomp:\t0\nuserns-ok\n');
  assert.equal((await d.docker(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', probe])).stdout, 'Seccomp:\t0\nuserns-ok\n');
  assert.equal((await d.berth(['run', '--rm', '--cap-add', 'SYS_ADMIN', 'busybox', 'sh', '-c', probe])).stdout, 'Seccomp:\t2\nuserns-ok\n');
  // exec'd processes get the container's filter
  await ok(d.berth(['run', '-d', '--name', 'filtered', 'busybox', 'sleep', '1000']));
  assert.equal((await d.docker(['exec', 'filtered', 'sh', '-c', probe])).stdout, 'Seccomp:\t2\n');
  await ok(d.berth(['rm', '-f', 'filtered']));
  // A profile in Docker's format, sent by the CLI as the file's contents.
  const dir = mkdtempSync(join(d.dir, 'seccomp-')); // goes with the daemon's dir, whatever the outcome
  const profile = join(dir, 'no-mkdir.json');
  writeFileSync(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
        // Rules that do not apply to this container: excluded by a capability it has, or including one it lacks.
        { names: ['chmod', 'fchmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_CHOWN'] } },
        { names: ['unlink', 'unlinkat'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
      ],
    }),
  );
  for (const cli of [d.berth.bind(d), d.docker.bind(d)]) {
    const r = await cli([
      'run',
      '--rm',
      '--security-opt',
      `seccomp=${profile}`,
      'busybox',
      'sh',
      '-c',
      'mkdir /x; touch /f && chmod 600 /f && rm /f && echo others-ok',
    ]);
    assert.match(r.stderr, /mkdir: can't create directory '\/x': Operation not permitted/);
    assert.equal(r.stdout, 'others-ok\n');
  }
  for (const cli of [d.berth.bind(d), d.docker.bind(d)]) {
    const none = await cli(['run', '--rm', '--security-opt', `seccomp=${join(dir, 'nope.json')}`, 'busybox', 'true']);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /opening seccomp profile \(.*nope\.json\) failed: open .*nope\.json: no such file or directory/);
  }
  writeFileSync(join(dir, 'bad.json'), '{not json');
  for (const cli of [d.berth.bind(d), d.docker.bind(d)]) {
    const bad = await cli(['run', '--rm', '--security-opt', `seccomp=${join(dir, 'bad.json')}`, 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /compacting json for seccomp profile \(.*bad\.json\) failed/);
  }
  // JSON that is no profile gets past the CLIs; the daemon refuses it.
  writeFileSync(join(dir, 'array.json'), '[]');
  const notProfile = await d.docker(['run', '--rm', '--security-opt', `seccomp=${join(dir, 'array.json')}`, 'busybox', 'true']);
  assert.equal(notProfile.code, 125);
  assert.match(notProfile.stderr, /Error response from daemon: Decoding seccomp profile failed/);
  assert.match(await ok(d.docker(['info', '--format', '{{json .SecurityOptions}}'])), /name=seccomp,profile=builtin/);
});

test('bad input: unknown image, unknown command, name in use, bad flags', async () => {
  const noImage = await d.berth(['run', 'nosuchimage']);
  assert.equal(noImage.code, 125);
  assert.match(noImage.stderr, /Unable to find image 'nosuchimage:latest' locally/);
  const noCmd = await d.berth(['run', '--rm', 'busybox', 'nosuchcommand']);
  assert.equal(noCmd.code, 127);
  assert.match(noCmd.stderr, /executable file not found|no such file or directory/);
  await d.berth(['create', '--name', 'taken', 'busybox']);
  const dup = await d.berth(['create', '--name', 'taken', 'busybox']);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /Conflict\. The container name "\/taken" is already in use by container "[a-f0-9]{64}"/);
  const badName = await d.docker(['create', '--name', 'bad name!', 'busybox']);
  assert.notEqual(badName.code, 0);
  assert.match(badName.stderr, /Invalid container name/);
  const rmi = await d.berth(['rmi', 'busybox']);
  assert.equal(rmi.code, 1);
  assert.match(rmi.stderr, /conflict: unable to remove repository reference "busybox" \(must force\) - container [a-f0-9]{12} is using its referenced image/);
  await d.berth(['rm', 'taken']);
  const badFlag = await d.berth(['run', '--no-such-flag', 'busybox']);
  assert.equal(badFlag.code, 125);
  assert.match(badFlag.stderr, /unknown flag: --no-such-flag/);
  const badRestart = await d.berth(['run', '--restart', 'sometimes', 'busybox']);
  assert.equal(badRestart.code, 125);
  assert.match(badRestart.stderr, /invalid restart policy/);
  assert.equal((await d.berth(['stop', 'nosuch'])).stderr, 'Error response from daemon: No such container: nosuch\n');
});

test('restart policies: on-failure retries, then gives up', async () => {
  await d.berth(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1']);
  for (let i = 0; i < 50 && (await inspect('flaky', '{{.RestartCount}} {{.State.Status}}')) !== '2 exited'; i++) await sleep(200);
  assert.equal(await inspect('flaky', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '2 exited 1');
  await d.berth(['rm', 'flaky']);
});

test('pause and unpause freeze the container', async () => {
  await d.berth(['run', '-d', '--name', 'frozen', 'busybox', 'sleep', '1000']);
  assert.equal((await d.berth(['pause', 'frozen'])).code, 0);
  assert.equal(await inspect('frozen', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
  assert.match((await d.berth(['ps', '--format', '{{.Status}}', '-f', 'name=frozen'])).stdout, /\(Paused\)/);
  assert.equal((await d.berth(['unpause', 'frozen'])).code, 0);
  assert.equal(await inspect('frozen', '{{.State.Status}}'), 'running');
  await d.berth(['rm', '-f', 'frozen']);
});

test('containers outlive a kill -9 of berthd: same PIDs, exits seen, logs and stop still work', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 20; i++)
    ids.push((await d.berth(['run', '-d', 'busybox', 'sh', '-c', `trap "exit 0" TERM; while true; do echo tick${i}; sleep 0.2; done`])).stdout.trim());
  const short = (await d.berth(['run', '-d', '--name', 'shortlived', 'busybox', 'sh', '-c', 'sleep 2; exit 9'])).stdout.trim();
  const pids = await Promise.all(ids.map((id) => inspect(id, '{{.State.Pid}}')));
  await d.kill9();
  // What removals cut short by the kill would leave (rm renames the record and deletes files after answering).
  const fake = 'f'.repeat(64);
  const debris = [join(d.dataRoot, 'containers', `.removed-${fake}`), join(d.execRoot, 'containers', fake)];
  for (const dir of debris) mkdirSync(dir, { recursive: true });
  copyFileSync(join(d.dataRoot, 'containers', short, 'config.json'), join(debris[0]!, 'config.json'));
  await sleep(2500); // shortlived exits while no daemon watches
  await d.start();
  for (const dir of debris) assert.equal(existsSync(dir), false, `${dir} swept at start`);
  assert.equal((await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter((l) => l === short).length, 1);
  for (let i = 0; i < ids.length; i++) {
    assert.equal(await inspect(ids[i]!, '{{.State.Running}} {{.State.Pid}}'), `true ${pids[i]}`);
  }
  for (let i = 0; i < 20 && (await inspect(short, '{{.State.Status}}')) !== 'exited'; i++) await sleep(200);
  assert.equal(await inspect(short, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 9');
  const logs = await d.berth(['logs', '--tail', '1', ids[0]!]);
  assert.equal(logs.stdout, 'tick0\n');
  assert.equal((await d.berth(['stop', ...ids])).code, 0);
  for (const id of ids) assert.equal(await inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  await d.berth(['rm', short, ...ids]);
});

test('exec: output, exit code, env, workdir, user, stdin — through berth and docker; not into a stopped container', async () => {
  await d.berth(['run', '-d', '--name', 'host1', 'busybox', 'sleep', '1000']);
  const r = await d.berth(['exec', '-e', 'FOO=bar', '-w', '/tmp', '-u', '1000', 'host1', 'sh', '-c', 'echo $FOO; pwd; id -u; echo err >&2; exit 4']);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, 'bar\n/tmp\n1000\n');
  assert.equal(r.stderr, 'err\n');
  const piped = await d.berth(['exec', '-i', 'host1', 'cat'], { input: 'piped through\n' });
  assert.equal(piped.stdout, 'piped through\n');
  const viaDocker = await d.docker(['exec', '-i', 'host1', 'sh', '-c', 'cat; exit 3'], { input: 'docker stdin\n' });
  assert.equal(viaDocker.code, 3, viaDocker.stderr);
  assert.equal(viaDocker.stdout, 'docker stdin\n');
  const tty = await d.berth(['exec', '-t', 'host1', 'sh', '-c', 'tty; exit 2']);
  assert.equal(tty.code, 2);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?\n$/);
  assert.equal((await d.berth(['exec', '-d', 'host1', 'touch', '/tmp/detached'])).code, 0);
  await sleep(300);
  assert.equal((await d.berth(['exec', 'host1', 'ls', '/tmp/detached'])).stdout, '/tmp/detached\n');
  const top = await d.berth(['top', 'host1']);
  assert.match(top.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n.*sleep 1000/s);
  await d.berth(['stop', '-t', '0', 'host1']);
  const stopped = await d.berth(['exec', 'host1', 'true']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /^Error response from daemon: Container [a-f0-9]{64} is not running\n$/);
  await d.berth(['rm', 'host1']);
});

test('run -i: the end of stdin reaches the container while it writes, through berth and docker', async () => {
  // conmon copies a container's output to the stdin client's socket. When a copy failed because
  // the client had already hung up after its input, conmon 2.1.x went on to leave the container's
  // stdin open forever. The race is made certain here: conmon is stopped while the input and its
  // end arrive, so on waking it has output to copy and the client's end to read at once.
  const script = 'while :; do echo tick; usleep 1000; done & cat; kill $!; echo done >&2';
  // Whether conmon's mistake shows depends on its heap (the freed client's memory reused or not),
  // which the names' lengths shift: several names, each CLI.
  for (const [i, cli] of (['berth', 'docker', 'berth', 'docker'] as const).entries()) {
    const name = `runi-late-${cli}${'x'.repeat(i * 5)}`;
    const argv = cli === 'berth' ? `${BERTH} -H ${d.host}` : 'docker';
    // The input waits for the test's word (a file), so it comes only once conmon is stopped.
    const go = join(d.dir, `${name}.go`);
    const pipeline = run(
      'sh',
      ['-c', `(until [ -e ${go} ]; do sleep 0.1; done; printf 'late input\\n') | ${argv} run --rm -i --name ${name} busybox sh -c '${script}'`],
      { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config') }, timeoutMs: 60_000, group: true },
    );
    let conmon = 0;
    for (const deadline = Date.now() + 30_000; !conmon && Date.now() < deadline; await sleep(50)) {
      const id = (await d.berth(['inspect', '-f', '{{.Id}} {{.State.Running}}', name])).stdout.trim();
      const [full, running] = id.split(' ');
      if (running === 'true') conmon = Number(readFileSync(join(d.execRoot, 'containers', full!, 'conmon.pid'), 'utf8'));
    }
    assert.ok(conmon > 0, `${cli}: the container did not start`);
    process.kill(conmon, 'SIGSTOP');
    writeFileSync(go, '');
    await sleep(2000);
    process.kill(conmon, 'SIGCONT');
    const r = await pipeline;
    assert.equal(r.code, 0, `${cli}: ${r.stderr}`);
    assert.match(r.stdout, /^tick\n[\s\S]*late input\n/, cli);
    assert.equal(r.stderr, 'done\n', cli);
  }
});

test('the docker CLI drives the core paths: run -d, logs -f, stop, kill, pause, wait, inspect, rename, rm', async () => {
  const id = (
    await d.docker(['run', '-d', '--name', 'dk', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done'])
  ).stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const insp = JSON.parse((await d.docker(['inspect', 'dk'])).stdout)[0];
  assert.equal(insp.State.Status, 'running');
  assert.equal(insp.Name, '/dk');
  assert.equal(insp.Config.Image, 'busybox');
  assert.match(insp.GraphDriver.Name, /overlay2|vfs/);
  assert.equal((await d.docker(['pause', 'dk'])).code, 0);
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', 'dk'])).stdout.trim(), 'paused');
  assert.equal((await d.docker(['unpause', 'dk'])).code, 0);
  assert.equal((await d.docker(['rename', 'dk', 'dk2'])).code, 0);
  const logs = d.docker(['logs', '-f', 'dk2']);
  await sleep(300);
  assert.equal((await d.docker(['stop', 'dk2'])).stdout, 'dk2\n');
  assert.equal((await logs).stdout, 'started\n');
  assert.equal((await d.docker(['wait', 'dk2'])).stdout, '0\n');
  await d.docker(['start', 'dk2']);
  assert.equal((await d.docker(['kill', '-s', 'KILL', 'dk2'])).code, 0);
  assert.equal((await d.docker(['wait', 'dk2'])).stdout, '137\n');
  assert.equal((await d.docker(['rm', 'dk2'])).code, 0);
  assert.equal((await d.docker(['ps', '-aq', '--filter', 'name=dk2'])).stdout, '');
});

test("bad flag values and stopped-container errors read as docker's", async () => {
  const mem = await d.berth(['run', '-m', '12x', 'busybox']);
  assert.equal(mem.code, 125);
  assert.match(mem.stderr, /^invalid argument "12x" for "-m, --memory" flag: invalid size: '12x'/);
  const cpus = await d.berth(['run', '--cpus=-1', 'busybox']);
  assert.equal(cpus.code, 125);
  assert.match(cpus.stderr, /invalid argument "-1" for "--cpus" flag/);
  const dockerCpus = await d.docker(['create', '--cpus=-1', 'busybox']);
  assert.notEqual(dockerCpus.code, 0);
  const attachStopped = await d.berth(['attach', 'nosuch']);
  assert.equal(attachStopped.code, 1);
  assert.match(attachStopped.stderr, /No such container: nosuch/);
});

test('health checks: starting, then healthy or unhealthy in inspect, ps and events', async () => {
  const since = Math.floor(Date.now() / 1000);
  await d.berth([
    'run',
    '-d',
    '--name',
    'doc',
    '--health-cmd',
    'test -f /tmp/ok',
    '--health-interval',
    '200ms',
    '--health-retries',
    '2',
    'busybox',
    'sleep',
    '1000',
  ]);
  assert.equal(await inspect('doc', '{{.State.Health.Status}}'), 'starting');
  for (let i = 0; i < 30 && (await inspect('doc', '{{.State.Health.Status}}')) !== 'unhealthy'; i++) await sleep(200);
  assert.equal(await inspect('doc', '{{.State.Health.Status}}'), 'unhealthy');
  assert.match((await d.berth(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}} {{.Status}}'])).stdout, /^doc Up .* \(unhealthy\)\n$/);
  await d.berth(['exec', 'doc', 'touch', '/tmp/ok']);
  for (let i = 0; i < 30 && (await inspect('doc', '{{.State.Health.Status}}')) !== 'healthy'; i++) await sleep(200);
  assert.equal(await inspect('doc', '{{.State.Health.Status}} {{.State.Health.FailingStreak}}'), 'healthy 0');
  const ev = await d.berth([
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'container=doc',
    '--format',
    '{{.Action}}',
  ]);
  assert.match(ev.stdout, /health_status: unhealthy\n(.*\n)*health_status: healthy/);
  await d.berth(['rm', '-f', 'doc']);
});

test('run flags reach the container: env, workdir, entrypoint, labels, init, read-only, tmpfs, ulimit, shm, namespaces, devices, groups', async () => {
  const { writeFileSync } = await import('node:fs');
  const envFile = join(d.dir, 'env.list');
  writeFileSync(envFile, '# comment\nFROM_FILE=1\n');
  const r = await d.berth([
    'run',
    '--rm',
    '-e',
    'A=b',
    '--env-file',
    envFile,
    '-w',
    '/work',
    '--entrypoint',
    'sh',
    '-l',
    'team=core',
    '--read-only',
    '--tmpfs',
    '/scratch:rw,size=1m',
    '--ulimit',
    'nofile=512:1024',
    '--shm-size',
    '8m',
    '--group-add',
    '4242',
    '--security-opt',
    'no-new-privileges',
    '--device',
    '/dev/null:/dev/mynull',
    'busybox',
    '-c',
    "echo $A $FROM_FILE; pwd; touch /x 2>/dev/null || echo ro; touch /scratch/y && echo tmpfs-ok; ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'; id -G; grep NoNewPrivs /proc/self/status; test -c /dev/mynull && echo dev-ok",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'b 1\n/work\nro\ntmpfs-ok\n512\n1024\n8192\n0 4242\nNoNewPrivs:\t1\ndev-ok\n');
  // --init puts an init at PID 1; --pid host sees the host's processes; --uts host has the host's name.
  assert.match((await d.berth(['run', '--rm', '--init', 'busybox', 'cat', '/proc/1/cmdline'])).stdout, /^\/sbin\/docker-init/);
  const hostPids = (await d.berth(['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"'])).stdout.trim();
  assert.ok(Number(hostPids) > 20, hostPids);
  const { hostname } = await import('node:os');
  assert.equal((await d.berth(['run', '--rm', '--uts', 'host', 'busybox', 'hostname'])).stdout.trim(), hostname());
  // --ipc and --network container: share another container's namespaces.
  await d.berth(['run', '-d', '--name', 'nsowner', 'busybox', 'sleep', '1000']);
  const pid = await inspect('nsowner', '{{.State.Pid}}');
  const { readlinkSync } = await import('node:fs');
  const shared = await d.berth([
    'run',
    '--rm',
    '--ipc',
    'container:nsowner',
    '--network',
    'container:nsowner',
    'busybox',
    'sh',
    '-c',
    'readlink /proc/self/ns/ipc; readlink /proc/self/ns/net',
  ]);
  assert.equal(shared.stdout, `${readlinkSync(`/proc/${pid}/ns/ipc`)}\n${readlinkSync(`/proc/${pid}/ns/net`)}\n`);
  // --stop-signal and --stop-timeout are used by stop.
  await d.berth([
    'run',
    '-d',
    '--name',
    'sig',
    '-l',
    'team=core',
    '--stop-signal',
    'USR1',
    '--stop-timeout',
    '1',
    'busybox',
    'sh',
    '-c',
    'trap "exit 10" USR1; while true; do sleep 0.1; done',
  ]);
  await sleep(300);
  await d.berth(['stop', 'sig']);
  assert.equal(await inspect('sig', '{{.State.ExitCode}} {{.Config.StopSignal}}'), '10 USR1');
  assert.equal(await inspect('sig', '{{index .Config.Labels "team"}}'), 'core');
  assert.equal((await d.berth(['ps', '-a', '--filter', 'label=team=core', '--format', '{{.Names}}'])).stdout, 'sig\n');
  await d.berth(['rm', '-f', 'nsowner', 'sig']);
});

test('restart policy always: a container that exits is restarted, and again when berthd starts', async () => {
  await d.berth(['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.5; exit 2']);
  for (let i = 0; i < 30 && Number(await inspect('phoenix', '{{.RestartCount}}')) < 1; i++) await sleep(200);
  assert.ok(Number(await inspect('phoenix', '{{.RestartCount}}')) >= 1);
  await d.berth(['update', '--restart', 'no', 'phoenix']);
  await d.berth(['rm', '-f', 'phoenix']);
  await d.berth(['run', '-d', '--name', 'survivor', '--restart', 'always', 'busybox', 'sleep', '1000']);
  const pid = await inspect('survivor', '{{.State.Pid}}');
  await d.kill9();
  process.kill(Number(pid), 'SIGKILL'); // it dies while no daemon watches
  await sleep(300);
  await d.start();
  for (let i = 0; i < 30 && (await inspect('survivor', '{{.State.Running}}')) !== 'true'; i++) await sleep(200);
  assert.equal(await inspect('survivor', '{{.State.Running}}'), 'true');
  assert.notEqual(await inspect('survivor', '{{.State.Pid}}'), pid);
  await d.berth(['rm', '-f', 'survivor']);
});

test('system df and info count containers as docker does', async () => {
  await d.berth(['run', '-d', '--name', 'dfrun', 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /big; sleep 1000']);
  await d.berth(['run', '--name', 'dfstop', 'busybox', 'sh', '-c', 'head -c 200000 /dev/zero > /big2']);
  await sleep(300);
  const ours = await d.berth(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}']);
  const theirs = await d.docker(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}']);
  assert.equal(theirs.code, 0, theirs.stderr);
  const row = (s: string) => s.split('\n').find((l) => l.startsWith('Containers|'));
  assert.equal(row(ours.stdout), row(theirs.stdout));
  assert.match(row(ours.stdout)!, /^Containers\|2\|1\|500kB\|200kB \(40%\)$/);
  const info = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout);
  assert.equal(info.Containers, 2);
  assert.equal(info.ContainersRunning, 1);
  assert.equal(info.ContainersStopped, 1);
  await d.berth(['rm', '-f', 'dfrun', 'dfstop']);
});

test('berth run --runtime and --userns: the runtime asked for, an unknown one refused, only the host user namespace', async () => {
  const ok = await d.berth(['run', '--name', 'rt-runc', '--runtime', 'runc', '--userns', 'host', 'busybox', 'true']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.Runtime}} {{.HostConfig.UsernsMode}}', 'rt-runc'])).stdout.trim(), 'runc host');
  const bogus = await d.berth(['run', '--rm', '--runtime', 'bogus', 'busybox', 'true']);
  assert.equal(bogus.code, 125);
  assert.match(bogus.stderr, /Error response from daemon: Unknown runtime specified bogus/);
  const userns = await d.berth(['create', '--userns', 'private', 'busybox']);
  assert.equal(userns.code, 125);
  assert.match(userns.stderr, /--userns: invalid USER mode/);
  await d.berth(['rm', 'rt-runc']);
});
