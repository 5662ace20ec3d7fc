/**
 * Runtimes and privileges, as a user sees them through the docker CLI and berth:
 * daemon.json `runtimes` / `default-runtime` and --add-runtime / --default-runtime,
 * a container's --runtime used for every runtime call (a wrapper script records
 * each one and then runs runc) also after a berthd restart, no-new-privileges
 * (per container and daemon.json's default), --cap-add/--cap-drop ALL, --read-only,
 * and --security-opt apparmor=/label= answered as dockerd 20.10 answers on this
 * host, which has neither AppArmor nor SELinux (checked against the real dockerd).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, type RunResult, importBusybox, http, tempDir } from '../helpers.js';

let d: Daemon;
let d2: Daemon | undefined;
let scratch: string;
let wrap: string;
let wrapLog: string;
/** The marker the `rec` runtime gets as its runtimeArgs; the wrapper records it and drops it before runc. */
const MARKER = '--berth-marker=from-runtime-args';

/** A wrapper OCI runtime: it appends its arguments to a log, then runs runc with them (the marker removed). */
function writeWrapper(path: string, log: string): void {
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${log}\ncase "$1" in --berth-marker=*) shift ;; esac\nexec runc "$@"\n`);
  chmodSync(path, 0o755);
}

/** A daemon whose daemon.json gets `extra` on top of the test default (its own bridge). */
async function daemonWith(extra: Record<string, unknown>, args: string[] = []): Promise<Daemon> {
  const dm = new Daemon(tempDir(), args);
  const file = join(dm.dir, 'daemon.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...extra }));
  return dm;
}

function ok(r: RunResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function logLines(): string[] {
  return existsSync(wrapLog) ? readFileSync(wrapLog, 'utf8').trim().split('\n').filter(Boolean) : [];
}

/** The wrapper's log lines for one runtime command on one container. */
function calls(id: string, command: string): string[] {
  return logLines().filter((l) => l.split(' ').includes(command) && l.includes(id));
}

before(async () => {
  scratch = tempDir('berth-runtimes-');
  wrap = join(scratch, 'rec-runtime');
  wrapLog = join(scratch, 'rec.log');
  writeWrapper(wrap, wrapLog);
  d = await daemonWith({
    runtimes: {
      rec: { path: wrap, runtimeArgs: [MARKER] },
      ghost: { path: join(scratch, 'no-such-runtime') },
      'a/../b': { path: wrap },
    },
  });
  await d.start();
  await importBusybox(d);
});
after(async () => {
  await d?.cleanup();
  await d2?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

test('docker info and berth info list the runtimes in dockerd shape, runc the default', async () => {
  const info = JSON.parse(ok(await d.docker(['info', '--format', '{{json .}}']))) as { Runtimes: Record<string, unknown>; DefaultRuntime: string };
  assert.deepEqual(info.Runtimes.rec, { path: wrap, runtimeArgs: [MARKER] });
  assert.deepEqual(info.Runtimes.ghost, { path: join(scratch, 'no-such-runtime') });
  assert.deepEqual(info.Runtimes.runc, { path: 'runc' });
  assert.equal(info.DefaultRuntime, 'runc');
  const text = ok(await d.berth(['info']));
  assert.match(text, /Runtimes: .*\brec\b/);
  assert.match(text, /Default Runtime: runc/);
});

test('--runtime: create, start, exec, pause, stop and rm go through it, with its runtimeArgs first, also after a berthd restart', async () => {
  const id = ok(await d.docker(['run', '-d', '--runtime', 'rec', 'busybox', 'sleep', '300'])).trim();
  assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', id])).trim(), 'rec');
  assert.equal(ok(await d.docker(['exec', id, 'echo', 'piped'])).trim(), 'piped');
  assert.equal(ok(await d.docker(['exec', '-t', id, 'echo', 'tty'])).trim(), 'tty');
  ok(await d.docker(['pause', id]));
  ok(await d.docker(['unpause', id]));
  for (const cmd of ['create', 'start', 'exec', 'pause', 'resume']) {
    const seen = calls(id, cmd);
    assert.ok(seen.length > 0, `no "${cmd}" through the wrapper:\n${logLines().join('\n')}`);
    for (const l of seen) assert.ok(l.startsWith(`${MARKER} --root`), `runtimeArgs not first: ${l}`);
  }
  // The runtime's own state root, beside runc's.
  assert.ok(existsSync(join(d.execRoot, 'runtime-rec', id)));

  await d.stop();
  await d.start();
  assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.Runtime}} {{.State.Status}}', id])).trim(), 'rec running');
  const before = logLines().length;
  assert.equal(ok(await d.berth(['exec', id, 'echo', 'again'])).trim(), 'again');
  ok(await d.docker(['stop', '-t', '1', id]));
  ok(await d.docker(['rm', id]));
  const after = logLines().slice(before);
  for (const cmd of ['exec', 'kill', 'delete'])
    assert.ok(
      after.some((l) => l.includes(id) && l.split(' ').includes(cmd)),
      `no "${cmd}" after the restart:\n${after.join('\n')}`,
    );
});

test('berth run --runtime and a container of another runtime stay apart', async () => {
  const out = ok(await d.berth(['run', '--rm', '--runtime', 'rec', 'busybox', 'echo', 'via-berth']));
  assert.equal(out.trim(), 'via-berth');
  const plain = ok(await d.docker(['run', '-d', 'busybox', 'sleep', '300'])).trim();
  assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', plain])).trim(), 'runc');
  ok(await d.docker(['rm', '-f', plain]));
  assert.equal(calls(plain, 'create').length, 0, 'a runc container went through the wrapper');
});

test('an unknown runtime is refused at create in dockerd words and status', async () => {
  const r = await d.docker(['run', '--rm', '--runtime', 'nope', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /Error response from daemon: Unknown runtime specified nope/);
  for (const name of ['nope', '../../bin/sh', '/usr/bin/runc', 'runc --debug']) {
    const res = await http(d.socket, 'POST', '/v1.41/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { Runtime: name } }));
    assert.equal(res.status, 400, res.body);
    assert.deepEqual(JSON.parse(res.body), { message: `Unknown runtime specified ${name}` });
  }
  const res = await http(d.socket, 'POST', '/v1.41/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { Runtime: ['rec'] } }));
  assert.equal(res.status, 400, res.body);
});

test('hostile runtimes: a missing binary fails the start clearly and berthd goes on; a name with path characters stays in its own dir', async () => {
  const r = await d.docker(['run', '--rm', '--runtime', 'ghost', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`fork/exec ${join(scratch, 'no-such-runtime')}: no such file or directory`));
  assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
  assert.equal(ok(await d.docker(['run', '--rm', 'busybox', 'echo', 'still-fine'])).trim(), 'still-fine');

  const id = ok(await d.docker(['run', '-d', '--runtime', 'a/../b', 'busybox', 'sleep', '300'])).trim();
  assert.ok(existsSync(join(d.execRoot, 'runtime-a%2F..%2Fb', id)), readdirSync(d.execRoot).join(' '));
  assert.ok(!existsSync(join(d.execRoot, 'b')) && !existsSync(join(d.dir, 'b')));
  ok(await d.docker(['rm', '-f', id]));
});

test('a daemon configuration berthd cannot use stops it with dockerd words', async () => {
  const cases: Array<[Record<string, unknown>, string[], RegExp]> = [
    [{ runtimes: { runc: { path: wrap } } }, [], /runtime name 'runc' is reserved/],
    [{ 'default-runtime': 'nope' }, [], /specified default runtime 'nope' does not exist/],
    [{}, ['--default-runtime', 'nope'], /specified default runtime 'nope' does not exist/],
    [{}, ['--add-runtime', 'bad'], /invalid argument "bad" for "--add-runtime" flag: invalid runtime argument: bad/],
    [{ runtimes: { x: { runtimeArgs: ['--a'] } } }, [], /runtime 'x': a "path" is required/],
  ];
  for (const [cfg, args, want] of cases) {
    const bad = await daemonWith(cfg, args);
    try {
      await assert.rejects(bad.start(), want);
    } finally {
      rmSync(bad.dir, { recursive: true, force: true });
    }
  }
});

test('--add-runtime and --default-runtime with daemon.json no-new-privileges: every new container gets them, its own option wins', async () => {
  const log2 = join(scratch, 'dflt.log');
  const wrap2 = join(scratch, 'dflt-runtime');
  writeWrapper(wrap2, log2);
  d2 = await daemonWith({ 'no-new-privileges': true }, ['--add-runtime', `dflt=${wrap2}`, '--default-runtime', 'dflt']);
  await d2.start();
  await importBusybox(d2);
  const info = JSON.parse(ok(await d2.docker(['info', '--format', '{{json .}}']))) as { Runtimes: Record<string, unknown>; DefaultRuntime: string };
  assert.equal(info.DefaultRuntime, 'dflt');
  assert.deepEqual(info.Runtimes.dflt, { path: wrap2 });

  const id = ok(await d2.docker(['run', '-d', 'busybox', 'sleep', '300'])).trim();
  assert.equal(ok(await d2.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', id])).trim(), 'dflt');
  assert.ok(readFileSync(log2, 'utf8').includes(`create --bundle`), 'the default runtime was not used');
  assert.match(ok(await d2.docker(['exec', id, 'grep', 'NoNewPrivs', '/proc/self/status'])), /NoNewPrivs:\s+1/);
  ok(await d2.docker(['rm', '-f', id]));
  assert.match(ok(await d2.docker(['run', '--rm', '--runtime', 'runc', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])), /NoNewPrivs:\s+1/);
  // The container's own option wins over the daemon's default, for the container and its execs.
  const own = ok(await d2.docker(['run', '-d', '--security-opt', 'no-new-privileges=false', 'busybox', 'sleep', '300'])).trim();
  assert.match(ok(await d2.docker(['exec', own, 'grep', 'NoNewPrivs', '/proc/self/status'])), /NoNewPrivs:\s+0/);
  ok(await d2.docker(['rm', '-f', own]));
  assert.match(
    ok(await d2.berth(['run', '--rm', '--security-opt', 'no-new-privileges=false', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])),
    /NoNewPrivs:\s+0/,
  );
});

test('--security-opt no-new-privileges: 1 with it (every spelling), 0 without; a bad value refused as dockerd does', async () => {
  const nnp = async (opts: string[]) =>
    /NoNewPrivs:\s+(\d)/.exec(ok(await d.docker(['run', '--rm', ...opts, 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])))?.[1];
  assert.equal(await nnp([]), '0');
  for (const o of ['no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:true']) assert.equal(await nnp(['--security-opt', o]), '1', o);
  assert.equal(await nnp(['--security-opt', 'no-new-privileges=false']), '0');
  assert.match(
    ok(await d.berth(['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])),
    /NoNewPrivs:\s+1/,
  );
  const r = await d.docker(['run', '--rm', '--security-opt', 'no-new-privileges=maybe', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /invalid --security-opt 2: "no-new-privileges=maybe"/);
});

test('--cap-drop ALL leaves none; --cap-add ALL gives every capability this host can grant; unknown ones refused at create', async () => {
  const capEff = async (opts: string[]) =>
    /CapEff:\s+([0-9a-f]+)/.exec(ok(await d.docker(['run', '--rm', ...opts, 'busybox', 'grep', 'CapEff', '/proc/self/status'])))?.[1];
  const bounding = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  assert.equal(await capEff(['--cap-drop', 'ALL']), '0000000000000000');
  assert.equal(BigInt(`0x${await capEff(['--cap-add', 'ALL'])}`), bounding);
  assert.equal(BigInt(`0x${await capEff(['--cap-add', 'all', '--cap-drop', 'net_admin'])}`), bounding & ~(1n << 12n));
  assert.equal(await capEff(['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN']), '0000000000001000');
  assert.equal(BigInt(`0x${(await capEff(['--cap-drop', 'ALL', '--cap-add', 'ALL']))!}`), bounding);
  assert.match(ok(await d.berth(['run', '--rm', '--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/self/status'])), /CapEff:\s+0{16}/);
  const r = await d.docker(['create', '--cap-add', 'BOGUS', 'busybox']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error response from daemon: invalid CapAdd: unknown capability: "CAP_BOGUS"/);
  const r2 = await d.docker(['create', '--cap-drop', 'CAP_NOPE', 'busybox']);
  assert.match(r2.stderr, /invalid CapDrop: unknown capability: "CAP_NOPE"/);
});

test('--read-only: / and the /etc files refuse writes; a tmpfs, a volume and /dev/shm stay writable', async () => {
  const r = await d.docker([
    'run',
    '--rm',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '-v',
    'rt-vol:/data',
    'busybox',
    'sh',
    '-c',
    'for f in /x /etc/hosts /etc/resolv.conf /tmp/x /data/x /dev/shm/x; do touch $f 2>/dev/null && echo "$f rw" || echo "$f ro"; done',
  ]);
  assert.equal(ok(r).trim(), ['/x ro', '/etc/hosts ro', '/etc/resolv.conf ro', '/tmp/x rw', '/data/x rw', '/dev/shm/x rw'].join('\n'));
  const ro = ok(await d.docker(['create', '--read-only', 'busybox'])).trim();
  assert.equal(ok(await d.docker(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', ro])).trim(), 'true');
  ok(await d.docker(['rm', ro]));
  assert.match((await d.berth(['run', '--rm', '--read-only', 'busybox', 'touch', '/y'])).stderr, /Read-only file system/);
  // Without it the same writes work.
  assert.equal(ok(await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'touch /x /etc/hosts && echo rw'])).trim(), 'rw');
  ok(await d.docker(['volume', 'rm', 'rt-vol']));
});

test('--security-opt apparmor= and label=: taken and not applied, as dockerd 20.10 does on a host without AppArmor or SELinux', async () => {
  // What the real dockerd answered here: every apparmor profile and label value accepted,
  // AppArmorProfile the asked one until the first start, then ""; SecurityOpt kept as given.
  for (const opt of [
    'apparmor=unconfined',
    'apparmor=docker-default',
    'apparmor=no-such-profile',
    'label=disable',
    'label=user:x',
    'label=type:foo',
    'label=bogus',
    'label:disable',
  ]) {
    const id = ok(await d.docker(['create', '--security-opt', opt, 'busybox', 'true'])).trim();
    const profile = opt.startsWith('apparmor=') ? opt.slice('apparmor='.length) : '';
    assert.equal(
      ok(
        await d.docker(['inspect', '-f', '{{json .AppArmorProfile}} {{json .HostConfig.SecurityOpt}} {{json .MountLabel}} {{json .ProcessLabel}}', id]),
      ).trim(),
      `"${profile}" ["${opt}"] "" ""`,
    );
    ok(await d.docker(['start', '-a', id]));
    assert.equal(ok(await d.docker(['inspect', '-f', '{{json .AppArmorProfile}} {{.State.ExitCode}}', id])).trim(), '"" 0');
    ok(await d.docker(['rm', id]));
  }
  for (const [opt, want] of [
    ['bogus=1', /Error response from daemon: invalid --security-opt 2: "bogus=1"/],
    ['apparmor', /invalid --security-opt 1: "apparmor"|Invalid --security-opt: "apparmor"/],
  ] as const) {
    const r = await d.docker(['create', '--security-opt', opt, 'busybox', 'true']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, want);
  }
  const api = await http(d.socket, 'POST', '/v1.41/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { SecurityOpt: ['selinux=whatever'] } }));
  assert.equal(api.status, 400);
  assert.deepEqual(JSON.parse(api.body), { message: 'invalid --security-opt 2: "selinux=whatever"' });
});
