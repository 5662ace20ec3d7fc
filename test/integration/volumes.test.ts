/**
 * Volumes end to end, through berth and the real docker CLI: named volumes
 * that outlive containers and the daemon, copy-up of image content, binds
 * (created for -v, refused for --mount), read-only mounts, --volumes-from,
 * tmpfs mounts, rm refused while in use, prune, rm -v, and Docker's errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, busyboxTar, http, makeTar, run, tempDir } from '../helpers.js';

let d: Daemon;
let scratch: string;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  scratch = tempDir('berth-vol-');
  // An image with content under a VOLUME: busybox plus /data/{hello.txt,sub/} owned by 1234:5678.
  const extra = await makeTar({ 'data/': { type: 'directory', mode: 0o750 }, 'data/hello.txt': 'from the image\n', 'data/sub/': { type: 'directory' } });
  writeFileSync(join(scratch, 'extra.tar'), extra);
  const root = join(scratch, 'root');
  mkdirSync(root);
  assert.equal((await run('tar', ['-C', root, '-xf', busyboxTar()])).code, 0);
  assert.equal((await run('tar', ['-C', root, '-xf', join(scratch, 'extra.tar')])).code, 0);
  assert.equal((await run('chown', ['-R', '1234:5678', join(root, 'data')])).code, 0);
  assert.equal((await run('tar', ['--numeric-owner', '-C', root, '-cf', join(scratch, 'withdata.tar'), '.'])).code, 0);
  const r = await d.berth(['import', '--change', 'VOLUME /data', '--change', 'CMD ["sh"]', join(scratch, 'withdata.tar'), 'withdata:latest']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await d.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('a named volume keeps a file across rm and a new run (berth and docker)', async () => {
  for (const [cli, vol] of [
    ['berth', 'keep-b'],
    ['docker', 'keep-d'],
  ] as const) {
    const c = (args: string[]) => (cli === 'berth' ? d.berth(args) : d.docker(args));
    await ok(c(['run', '--name', `w-${vol}`, '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo kept > /data/f']));
    await ok(c(['rm', `w-${vol}`]));
    assert.equal((await ok(c(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'cat', '/data/f']))).trim(), 'kept');
    const ls = await ok(c(['volume', 'ls']));
    assert.match(ls, /^DRIVER\s+VOLUME NAME$/m);
    assert.match(ls, new RegExp(`^local\\s+${vol}$`, 'm'));
  }
});

test('volume create/inspect/ls filters/rm in docker shape', async () => {
  assert.equal((await ok(d.docker(['volume', 'create', '--label', 'team=a', 'shape1']))).trim(), 'shape1');
  const [v] = JSON.parse(await ok(d.berth(['volume', 'inspect', 'shape1'])));
  assert.equal(v.Name, 'shape1');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.deepEqual(v.Labels, { team: 'a' });
  assert.equal(v.Mountpoint, join(d.dataRoot, 'volumes', 'shape1', '_data'));
  assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  assert.equal((await ok(d.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'shape1']))).trim(), v.Mountpoint);
  assert.deepEqual((await ok(d.docker(['volume', 'ls', '-q', '--filter', 'label=team=a']))).trim().split('\n'), ['shape1']);
  assert.deepEqual((await ok(d.berth(['volume', 'ls', '-q', '--filter', 'name=hape1']))).trim().split('\n'), ['shape1']);
  assert.match(await ok(d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true'])), /^shape1$/m);
  await ok(d.berth(['create', '--name', 'holder', '-v', 'shape1:/x', 'busybox']));
  assert.doesNotMatch(await ok(d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true'])), /^shape1$/m);
  assert.match(await ok(d.berth(['volume', 'ls', '-q', '--filter', 'dangling=false'])), /^shape1$/m);
  // In use: 409 with the container's ID, and the volume is still there.
  const id = (await ok(d.berth(['inspect', '-f', '{{.Id}}', 'holder']))).trim();
  for (const cli of ['berth', 'docker'] as const) {
    const r = cli === 'berth' ? await d.berth(['volume', 'rm', 'shape1']) : await d.docker(['volume', 'rm', 'shape1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Error response from daemon: remove shape1: volume is in use - \\[${id}\\]`));
  }
  const del = await http(d.socket, 'DELETE', '/v1.47/volumes/shape1?force=1');
  assert.equal(del.status, 409);
  // Inspect's Mounts in Docker's shape.
  const [ci] = JSON.parse(await ok(d.docker(['inspect', 'holder'])));
  assert.deepEqual(ci.Mounts, [
    { Type: 'volume', Name: 'shape1', Source: v.Mountpoint, Destination: '/x', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
  ]);
  assert.deepEqual(ci.HostConfig.Binds, ['shape1:/x']);
  await ok(d.berth(['rm', 'holder']));
  assert.equal((await ok(d.docker(['volume', 'rm', 'shape1']))).trim(), 'shape1');
  assert.equal(existsSync(v.Mountpoint), false);
});

test('unknown volume and bad names: Docker words and statuses', async () => {
  const g = await http(d.socket, 'GET', '/v1.47/volumes/nope');
  assert.equal(g.status, 404);
  assert.equal(JSON.parse(g.body).message, 'get nope: no such volume');
  const r = await d.docker(['volume', 'inspect', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error response from daemon: get nope: no such volume/);
  const rm = await d.berth(['volume', 'rm', 'nope']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /Error response from daemon: get nope: no such volume/);
  assert.equal((await http(d.socket, 'DELETE', '/v1.47/volumes/nope?force=1')).status, 204);
  const bad = await d.docker(['volume', 'create', 'a/b']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /"a\/b" includes invalid characters for a local volume name/);
  const drv = await http(d.socket, 'POST', '/v1.47/volumes/create', JSON.stringify({ Name: 'x1', Driver: 'nosuch' }));
  assert.equal(drv.status, 404);
  const opt = await d.berth(['volume', 'create', '-o', 'bogus=1', 'x2']);
  assert.equal(opt.code, 1);
  assert.match(opt.stderr, /invalid option/);
  const badv = await d.docker(['run', '--rm', '-v', 'not/ok:/x', 'busybox', 'true']);
  assert.notEqual(badv.code, 0);
  assert.match(badv.stderr, /includes invalid characters for a local volume name/);
});

test('a new volume over image content starts as a copy of it, owners and modes kept', async () => {
  for (const cli of ['berth', 'docker'] as const) {
    const c = (args: string[]) => (cli === 'berth' ? d.berth(args) : d.docker(args));
    const vol = `copy-${cli}`;
    const out = await ok(
      c(['run', '--rm', '-v', `${vol}:/data`, 'withdata', 'sh', '-c', 'cat /data/hello.txt; stat -c "%u:%g %a" /data /data/hello.txt; ls -d /data/sub']),
    );
    assert.equal(out, 'from the image\n1234:5678 750\n1234:5678 644\n/data/sub\n');
    // Not copied again over what the volume now holds.
    await ok(c(['run', '--rm', '-v', `${vol}:/data`, 'withdata', 'sh', '-c', 'echo changed > /data/hello.txt; rm -r /data/sub']));
    assert.equal(await ok(c(['run', '--rm', '-v', `${vol}:/data`, 'withdata', 'sh', '-c', 'cat /data/hello.txt; ls /data'])), 'changed\nhello.txt\n');
  }
  // nocopy: the volume stays empty.
  assert.equal(await ok(d.berth(['run', '--rm', '-v', 'nocopy1:/data:nocopy', 'withdata', 'ls', '-A', '/data'])), '');
  assert.equal(await ok(d.docker(['run', '--rm', '--mount', 'type=volume,source=nocopy2,target=/data,volume-nocopy', 'withdata', 'ls', '-A', '/data'])), '');
  // The image's VOLUME alone makes an anonymous volume with the copy, removed by --rm.
  const before = (await ok(d.berth(['volume', 'ls', '-q']))).trim().split('\n');
  assert.equal(await ok(d.docker(['run', '--rm', 'withdata', 'cat', '/data/hello.txt'])), 'from the image\n');
  await waitFor(async () => (await ok(d.berth(['ps', '-aq']))).trim() === '' || true);
  const afterRm = (await ok(d.berth(['volume', 'ls', '-q']))).trim().split('\n');
  assert.deepEqual(afterRm, before);
});

async function waitFor(cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

test('anonymous volumes: rm -v removes them, plain rm keeps them, prune removes only anonymous', async () => {
  await ok(d.berth(['create', '--name', 'anon1', '-v', '/scratch', 'busybox']));
  const [c1] = JSON.parse(await ok(d.berth(['inspect', 'anon1'])));
  assert.equal(c1.Mounts.length, 1);
  const name1: string = c1.Mounts[0].Name;
  assert.match(name1, /^[0-9a-f]{64}$/);
  assert.equal(c1.Mounts[0].Destination, '/scratch');
  const [v1] = JSON.parse(await ok(d.berth(['volume', 'inspect', name1])));
  assert.deepEqual(v1.Labels, { 'com.docker.volume.anonymous': '' });
  await ok(d.docker(['rm', '-v', 'anon1']));
  assert.equal((await d.berth(['volume', 'inspect', name1])).code, 1);

  await ok(d.berth(['create', '--name', 'anon2', '-v', '/scratch', 'busybox']));
  const name2 = (await ok(d.berth(['inspect', '-f', '{{(index .Mounts 0).Name}}', 'anon2']))).trim();
  await ok(d.berth(['rm', 'anon2']));
  await ok(d.berth(['volume', 'inspect', name2]));
  await ok(d.berth(['volume', 'create', 'named-survivor']));
  const p = await ok(d.docker(['volume', 'prune', '-f']));
  assert.match(p, new RegExp(`Deleted Volumes:\\n(.*\\n)*${name2}\\n`));
  assert.match(p, /Total reclaimed space: /);
  assert.equal((await d.berth(['volume', 'inspect', name2])).code, 1);
  await ok(d.berth(['volume', 'inspect', 'named-survivor']));
  // prune -a takes unused named volumes too, never one in use.
  await ok(d.berth(['create', '--name', 'user1', '-v', 'in-use:/x', 'busybox']));
  const pa = await ok(d.berth(['volume', 'prune', '-a', '-f']));
  assert.match(pa, /named-survivor/);
  assert.doesNotMatch(pa, /in-use/);
  await ok(d.berth(['volume', 'inspect', 'in-use']));
  await ok(d.berth(['rm', 'user1']));
});

test('-v ro is read-only; binds of host paths; missing bind path created for -v, refused for --mount', async () => {
  await ok(d.berth(['volume', 'create', 'rovol']));
  const r = await d.docker(['run', '--rm', '-v', 'rovol:/data:ro', 'busybox', 'sh', '-c', 'echo x > /data/f']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /Read-only file system/);
  const hostDir = join(scratch, 'bind');
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'in.txt'), 'host file\n');
  assert.equal(await ok(d.berth(['run', '--rm', '-v', `${hostDir}:/b`, 'busybox', 'sh', '-c', 'cat /b/in.txt; echo back > /b/out.txt'])), 'host file\n');
  assert.equal(readFileSync(join(hostDir, 'out.txt'), 'utf8'), 'back\n');
  const ro = await d.docker(['run', '--rm', '--mount', `type=bind,source=${hostDir},target=/b,readonly`, 'busybox', 'sh', '-c', 'touch /b/no']);
  assert.notEqual(ro.code, 0);
  assert.equal(existsSync(join(hostDir, 'no')), false);
  await ok(d.berth(['create', '--name', 'bindshape', '-v', `${hostDir}:/b:ro`, 'busybox']));
  const [bi] = JSON.parse(await ok(d.berth(['inspect', 'bindshape'])));
  assert.deepEqual(bi.Mounts, [{ Type: 'bind', Source: hostDir, Destination: '/b', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
  await ok(d.berth(['rm', 'bindshape']));

  const missing = join(scratch, 'missing', 'deeper');
  await ok(d.berth(['run', '--rm', '-v', `${missing}:/m`, 'busybox', 'true']));
  assert.equal(existsSync(missing), true);
  const gone = join(scratch, 'gone');
  for (const cli of ['berth', 'docker'] as const) {
    const args = ['run', '--rm', '--mount', `type=bind,source=${gone},target=/m`, 'busybox', 'true'];
    const m = cli === 'berth' ? await d.berth(args) : await d.docker(args);
    assert.equal(m.code, 125);
    assert.match(m.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${gone}`));
  }
  assert.equal(existsSync(gone), false);
  const api = await http(
    d.socket,
    'POST',
    '/v1.47/containers/create',
    JSON.stringify({ Image: 'busybox', HostConfig: { Mounts: [{ Type: 'bind', Source: gone, Target: '/m' }] } }),
  );
  assert.equal(api.status, 400);
  const dup = await d.berth(['create', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox']);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /Duplicate mount point: \/x/);
});

test('--volumes-from shares the volumes (ro when asked); --mount type=tmpfs', async () => {
  await ok(d.berth(['run', '--name', 'src1', '-v', 'shared1:/s', '-v', '/anon', 'busybox', 'sh', '-c', 'echo shared > /s/f; echo a > /anon/f']));
  assert.equal(await ok(d.docker(['run', '--rm', '--volumes-from', 'src1', 'busybox', 'sh', '-c', 'cat /s/f /anon/f'])), 'shared\na\n');
  const ro = await d.berth(['run', '--rm', '--volumes-from', 'src1:ro', 'busybox', 'sh', '-c', 'echo x > /s/g']);
  assert.notEqual(ro.code, 0);
  const [sv] = JSON.parse(await ok(d.berth(['inspect', 'src1'])));
  // rm -v of a container that only borrowed them keeps them; the owner's rm -v removes its anonymous one.
  await ok(d.berth(['create', '--name', 'borrower', '--volumes-from', 'src1', 'busybox']));
  await ok(d.berth(['rm', '-v', 'borrower']));
  const anon = sv.Mounts.find((m: { Destination: string }) => m.Destination === '/anon').Name;
  await ok(d.berth(['volume', 'inspect', anon]));
  await ok(d.berth(['rm', '-v', 'src1']));
  assert.equal((await d.berth(['volume', 'inspect', anon])).code, 1);
  await ok(d.berth(['volume', 'inspect', 'shared1']));
  const unknown = await d.docker(['run', '--rm', '--volumes-from', 'no-such-ctr', 'busybox', 'true']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /No such container: no-such-ctr/);

  const t = await ok(d.docker(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts']));
  assert.match(t, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec.*size=1024k/);
});

test('a local volume backed by a device (-o type=tmpfs) is mounted while used', async () => {
  await ok(d.docker(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'tmpvol']));
  const out = await ok(d.berth(['run', '--rm', '-v', 'tmpvol:/t', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; df -k /t | tail -1']));
  assert.match(out, /tmpfs/);
  assert.match(out, /\s2048\s/);
  const [v] = JSON.parse(await ok(d.berth(['volume', 'inspect', 'tmpvol'])));
  assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' });
  await waitFor(async () => (await run('mountpoint', ['-q', v.Mountpoint])).code !== 0);
  await ok(d.berth(['volume', 'rm', 'tmpvol']));
});

test('volume data survives a daemon restart; system df counts volumes', async () => {
  await ok(d.berth(['run', '--rm', '-v', 'durable:/d', 'busybox', 'sh', '-c', 'echo 0123456789 > /d/f']));
  await ok(d.berth(['create', '--name', 'dfuser', '-v', 'durable:/d', 'busybox']));
  await d.stop();
  await d.start();
  assert.equal(await ok(d.docker(['run', '--rm', '-v', 'durable:/d', 'busybox', 'cat', '/d/f'])), '0123456789\n');
  const df = await ok(d.docker(['system', 'df']));
  const row = df.split('\n').find((l) => l.startsWith('Local Volumes'))!;
  const n = (await ok(d.berth(['volume', 'ls', '-q']))).trim().split('\n').length;
  assert.match(row, new RegExp(`^Local Volumes\\s+${n}\\s+1\\s`));
  const dfv = await ok(d.berth(['system', 'df', '-v']));
  assert.match(dfv, /^durable\s+1\s+11B$/m);
  const api = JSON.parse((await http(d.socket, 'GET', '/v1.47/system/df')).body);
  const dv = api.Volumes.find((v: { Name: string }) => v.Name === 'durable');
  assert.deepEqual(dv.UsageData, { Size: 11, RefCount: 1 });
  await ok(d.berth(['rm', 'dfuser']));
});
