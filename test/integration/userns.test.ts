/**
 * `--userns-remap default` end to end, seen from the host's side: through the
 * docker CLI and berth against a private berthd. Root in a container is the
 * berthremap user's first subordinate uid on the host — in its files on a bind
 * mount and a named volume, in /proc/<pid>/status — and gets nothing a host
 * user outside the mapping would not; `--userns=host` opts out; `docker cp`
 * shows and takes the container's own ids; `docker info` says how layers are
 * remapped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, importBusybox, run, tempDir } from '../helpers.js';

let d: Daemon;
let scratch: string;
let start: number;

function subStart(file: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('berthremap:'));
  assert.ok(line, `berthremap has a range in ${file}`);
  return Number(line.split(':')[1]);
}

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The Uid: line of a process's status: real, effective, saved, filesystem. */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!;
  return line.split(/\s+/).slice(1, 5).map(Number);
}

before(async () => {
  const dir = tempDir('berth-userns-');
  // The remapped root must pass through the directories above the data root (berthd checks, as dockerd).
  chmodSync(dir, 0o711);
  d = new Daemon(dir, ['--userns-remap', 'default']);
  await d.start();
  await importBusybox(d);
  start = subStart('/etc/subuid');
  assert.equal(subStart('/etc/subgid') >= 0, true);
  scratch = tempDir('berth-userns-host-');
  chmodSync(scratch, 0o711);
});

after(async () => {
  await d.removeContainers();
  await d.stop();
  // The idmapped views of layers stay mounted across restarts, as container overlays do: take them down.
  const r = join(d.dataRoot, 'snapshots', 'overlay2', 'r');
  for (const k of readdirSync(r, { withFileTypes: true }).filter((e) => e.isDirectory()))
    for (const n of readdirSync(join(r, k.name))) await run('umount', ['-l', join(r, k.name, n)]);
  await d.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

test('docker info names userns and how layers are remapped; berthremap exists once', async () => {
  const sec = JSON.parse(await ok(d.docker(['info', '-f', '{{json .SecurityOptions}}']))) as string[];
  assert.ok(sec.includes('name=userns'), sec.join(' '));
  const status = JSON.parse(await ok(d.docker(['info', '-f', '{{json .DriverStatus}}']))) as string[][];
  assert.deepEqual(
    status.find((s) => s[0] === 'Userns layers'),
    ['Userns layers', 'idmapped mounts'],
  );
  assert.deepEqual(
    status.find((s) => s[0] === 'Userns remap'),
    ['Userns remap', 'berthremap:berthremap'],
  );
  // A second daemon start made nothing twice.
  await d.stop();
  await d.start();
  for (const f of ['/etc/passwd', '/etc/group', '/etc/subuid', '/etc/subgid'])
    assert.equal(
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('berthremap:')).length,
      1,
      f,
    );
  assert.match(await ok(d.berth(['info'])), /Security Options:\n(.*\n)*? {2}userns\n/);
});

test('root in the container owns its files on the host as the remapped uid (bind mount and named volume)', async () => {
  const bind = join(scratch, 'bind');
  mkdirSync(bind);
  chmodSync(bind, 0o777);
  const out = await ok(
    d.docker(['run', '--rm', '-v', `${bind}:/b`, '-v', 'unsvol:/v', 'busybox', 'sh', '-c', 'id -u; echo a > /b/f; echo b > /v/f; stat -c %u /v/f']),
  );
  assert.deepEqual(out.trim().split('\n'), ['0', '0']);
  assert.equal(statSync(join(bind, 'f')).uid, start);
  assert.equal(statSync(join(bind, 'f')).gid, subStart('/etc/subgid'));
  const mp = (await ok(d.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'unsvol']))).trim();
  assert.equal(statSync(mp).uid, start, 'the volume belongs to the remapped root');
  assert.equal(statSync(join(mp, 'f')).uid, start);
  await ok(d.docker(['volume', 'rm', 'unsvol']));
});

test('a container process is not root on the host; --userns=host is', async () => {
  const id = (await ok(d.docker(['run', '-d', 'busybox', 'sleep', '60']))).trim();
  const pid = Number((await ok(d.docker(['inspect', '-f', '{{.State.Pid}}', id]))).trim());
  assert.deepEqual(hostUids(pid), [start, start, start, start]);
  assert.match(await ok(d.docker(['exec', id, 'cat', '/proc/self/uid_map'])), new RegExp(`^\\s*0\\s+${start}\\s+65536\\s*$`));
  const host = (await ok(d.berth(['run', '-d', '--userns=host', 'busybox', 'sleep', '60']))).trim();
  const hpid = Number((await ok(d.docker(['inspect', '-f', '{{.State.Pid}}', host]))).trim());
  assert.deepEqual(hostUids(hpid), [0, 0, 0, 0]);
  assert.match(await ok(d.docker(['exec', host, 'cat', '/proc/self/uid_map'])), /^\s*0\s+0\s+4294967295\s*$/);
  await ok(d.docker(['rm', '-f', id, host]));
});

test('hostile: a remapped container cannot read a host root 0600 file or write a root 0755 dir through bind mounts', async () => {
  const secret = join(scratch, 'secret');
  writeFileSync(secret, 'host secret\n', { mode: 0o600 });
  const rodir = join(scratch, 'rootdir');
  mkdirSync(rodir, { mode: 0o755 });
  const r = await d.docker(['run', '--rm', '-v', `${secret}:/s`, '-v', `${rodir}:/d`, 'busybox', 'sh', '-c', 'cat /s; touch /d/x; echo done']);
  assert.match(r.stderr + r.stdout, /cat: can't open '\/s': Permission denied/);
  assert.match(r.stderr + r.stdout, /touch: \/d\/x: Permission denied/);
  assert.doesNotMatch(r.stdout, /host secret/);
  assert.deepEqual(readdirSync(rodir), []);
  // The same through --userns=host (real root) works: the refusal above was the mapping's.
  assert.match(await ok(d.docker(['run', '--rm', '--userns=host', '-v', `${secret}:/s`, 'busybox', 'cat', '/s'])), /host secret/);
  // What cannot run remapped is refused in dockerd's words.
  const priv = await d.docker(['run', '--rm', '--privileged', 'busybox', 'true']);
  assert.notEqual(priv.code, 0);
  assert.match(priv.stderr, /privileged mode is incompatible with user namespaces/);
  const net = await d.docker(['run', '--rm', '--network', 'host', 'busybox', 'true']);
  assert.match(net.stderr, /cannot share the host's network namespace when user namespaces are enabled/);
});

test('docker cp keeps ownership right both ways', async () => {
  const id = (await ok(d.docker(['run', '-d', 'busybox', 'sh', '-c', 'echo x > /made; chown 1234:4321 /made; sleep 60']))).trim();
  await new Promise((r) => setTimeout(r, 300));
  // Out: the archive carries the ids the container sees.
  const listed = await ok(run('sh', ['-c', `DOCKER_HOST=${d.host} docker cp ${id}:/made - | tar -tvf - --numeric-owner`]));
  assert.match(listed, /1234\/4321/);
  // In: a host file lands as root inside, the remapped uid on the host; a tar's uid 1000 is 1000 inside.
  const src = join(scratch, 'cpin');
  writeFileSync(src, 'in\n');
  await ok(d.docker(['cp', src, `${id}:/cpin`]));
  await ok(run('sh', ['-c', `tar -C ${scratch} --owner=1000 --group=1000 -cf - cpin | DOCKER_HOST=${d.host} docker cp - ${id}:/tmp`]));
  assert.equal((await ok(d.docker(['exec', id, 'stat', '-c', '%u:%g', '/cpin', '/tmp/cpin']))).trim(), '0:0\n1000:1000');
  const upper = (await ok(d.docker(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id]))).trim();
  assert.equal(statSync(join(upper, 'cpin')).uid, start);
  assert.equal(statSync(join(upper, 'tmp', 'cpin')).uid, start + 1000);
  // berth's cp out shows the container's ids too.
  const viaBerth = await ok(run('sh', ['-c', `node ${join(process.cwd(), 'bin', 'berth')} -H ${d.host} cp ${id}:/tmp/cpin - | tar -tvf - --numeric-owner`]));
  assert.match(viaBerth, /1000\/1000/);
  await ok(d.docker(['rm', '-f', id]));
});
