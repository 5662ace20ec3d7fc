/**
 * Files in and out of containers, through berth and the real docker CLI:
 * cp both ways (trees with modes and symlinks, file renames, "dir/.", tar
 * streams on stdin/stdout), on running and stopped containers and into
 * volumes; paths that try to leave the container; export then import (the
 * course's migration example); and Docker's errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, http, makeTar, run, tempDir } from '../helpers.js';

let d: Daemon;
let scratch: string;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  scratch = tempDir('berth-files-');
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

/** A tree's shape: path, type, mode and link target of every entry, sorted. */
async function tree(dir: string): Promise<string> {
  return ok(run('sh', ['-c', `cd "${dir}" && find . -printf '%p %y %m %l\\n' | sort`]));
}

function makeTree(dir: string): void {
  mkdirSync(join(dir, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  chmodSync(join(dir, 'a.txt'), 0o640);
  writeFileSync(join(dir, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'sub', 'run.sh'), 0o755);
  writeFileSync(join(dir, 'sub', 'deep', 'z'), 'zed');
  chmodSync(join(dir, 'sub', 'deep'), 0o700);
  symlinkSync('a.txt', join(dir, 'rel-link'));
  symlinkSync('/etc/passwd', join(dir, 'abs-link'));
}

test('cp round-trips a directory tree with modes and symlinks (berth and docker)', async () => {
  const src = join(scratch, 'tree');
  mkdirSync(src);
  makeTree(src);
  for (const cli of ['berth', 'docker'] as const) {
    const c = (args: string[]) => (cli === 'berth' ? d.berth(args) : d.docker(args));
    const name = `rt-${cli}`;
    await ok(c(['run', '-d', '--name', name, 'busybox', 'sleep', '300']));
    await ok(c(['cp', src, `${name}:/tmp/`]));
    assert.equal(
      await ok(c(['exec', name, 'sh', '-c', 'stat -c "%a %U" /tmp/tree/a.txt /tmp/tree/sub/run.sh; readlink /tmp/tree/rel-link; readlink /tmp/tree/abs-link'])),
      '640 root\n755 root\na.txt\n/etc/passwd\n',
    );
    const back = join(scratch, `back-${cli}`);
    await ok(c(['cp', `${name}:/tmp/tree`, back]));
    assert.equal(await tree(back), await tree(src));
    assert.equal(readFileSync(join(back, 'sub', 'deep', 'z'), 'utf8'), 'zed');
    // "dir/." copies the content into an existing directory.
    const into = join(scratch, `into-${cli}`);
    mkdirSync(into);
    await ok(c(['cp', `${name}:/tmp/tree/.`, into]));
    assert.equal(await tree(into), await tree(src));
    // Into an existing directory: a subdirectory of the source's name.
    const parent = join(scratch, `parent-${cli}`);
    mkdirSync(parent);
    await ok(c(['cp', `${name}:/tmp/tree`, parent]));
    assert.equal(await tree(join(parent, 'tree')), await tree(src));
    // file → new file name, both ways; -L follows a link.
    await ok(c(['cp', `${name}:/tmp/tree/a.txt`, join(scratch, `renamed-${cli}.txt`)]));
    assert.equal(readFileSync(join(scratch, `renamed-${cli}.txt`), 'utf8'), 'alpha\n');
    await ok(c(['cp', join(src, 'a.txt'), `${name}:/tmp/other.txt`]));
    assert.equal(await ok(c(['exec', name, 'cat', '/tmp/other.txt'])), 'alpha\n');
    await ok(c(['cp', '-L', `${name}:/tmp/tree/rel-link`, join(scratch, `followed-${cli}`)]));
    assert.equal(readFileSync(join(scratch, `followed-${cli}`), 'utf8'), 'alpha\n');
    await ok(c(['rm', '-f', name]));
  }
});

test("cp keeps the tar's owners with or without -a (a container without a User), as dockerd does", async () => {
  await ok(d.berth(['run', '-d', '--name', 'own', 'busybox', 'sleep', '300']));
  const f = join(scratch, 'owned.txt');
  writeFileSync(f, 'x');
  await ok(run('chown', ['4321:8765', f]));
  await ok(d.docker(['cp', f, 'own:/tmp/plain.txt']));
  await ok(d.docker(['cp', '-a', f, 'own:/tmp/kept.txt']));
  assert.equal(await ok(d.berth(['exec', 'own', 'stat', '-c', '%u:%g', '/tmp/plain.txt', '/tmp/kept.txt'])), '4321:8765\n4321:8765\n');
  await ok(d.berth(['rm', '-f', 'own']));
});

test('cp into and out of a stopped container, volumes included', async () => {
  await ok(d.berth(['create', '--name', 'stopped', '-v', 'cpvol:/vol', 'busybox', 'sh', '-c', 'cat /tmp/in.txt /vol/v.txt']));
  writeFileSync(join(scratch, 'in.txt'), 'into stopped\n');
  await ok(d.docker(['cp', join(scratch, 'in.txt'), 'stopped:/tmp/in.txt']));
  await ok(d.berth(['cp', join(scratch, 'in.txt'), 'stopped:/vol/v.txt']));
  assert.equal(await ok(d.berth(['start', '-a', 'stopped'])), 'into stopped\ninto stopped\n');
  // The file went into the volume itself.
  assert.equal(await ok(d.berth(['run', '--rm', '-v', 'cpvol:/x', 'busybox', 'cat', '/x/v.txt'])), 'into stopped\n');
  await ok(d.docker(['cp', 'stopped:/vol/v.txt', join(scratch, 'out-of-stopped.txt')]));
  assert.equal(readFileSync(join(scratch, 'out-of-stopped.txt'), 'utf8'), 'into stopped\n');
  await ok(d.berth(['rm', 'stopped']));
});

test('cp with tar streams: from stdin and to stdout', async () => {
  await ok(d.berth(['run', '-d', '--name', 'streams', 'busybox', 'sleep', '300']));
  const tar = await makeTar({ 'piped/': { type: 'directory' }, 'piped/one.txt': 'one\n', 'piped/l': { type: 'symlink', linkname: 'one.txt' } });
  await ok(d.berth(['cp', '-', 'streams:/tmp'], { input: tar }));
  await ok(d.docker(['cp', '-', 'streams:/root'], { input: tar }));
  assert.equal(await ok(d.berth(['exec', 'streams', 'sh', '-c', 'cat /tmp/piped/l /root/piped/one.txt'])), 'one\none\n');
  const notDir = await d.berth(['cp', '-', 'streams:/tmp/piped/one.txt'], { input: tar });
  assert.equal(notDir.code, 1);
  assert.match(notDir.stderr, /must be a directory/);
  for (const cli of ['berth', 'docker'] as const) {
    const out = join(scratch, `stdout-${cli}.tar`);
    const r = await run('sh', [
      '-c',
      `${cli === 'berth' ? `${process.execPath} ${join(process.cwd(), 'bin', 'berth')} -H ${d.host}` : `DOCKER_HOST=${d.host} docker`} cp streams:/tmp/piped - > ${out}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const list = (await ok(run('tar', ['-tf', out]))).trim().split('\n').sort();
    assert.deepEqual(list, ['piped/', 'piped/l', 'piped/one.txt']);
  }
  await ok(d.berth(['rm', '-f', 'streams']));
});

test('cp paths cannot reach outside the container (.., absolute and relative symlinks)', async () => {
  const tag = `berth-escape-${randomBytes(4).toString('hex')}`;
  await ok(
    d.berth([
      'run',
      '-d',
      '--name',
      'jail',
      'busybox',
      'sh',
      '-c',
      'ln -s /etc /tmp/toetc; ln -s ../../../../../../etc /tmp/reletc; mkdir -p /tmp/d; ln -s / /tmp/d/root; sleep 300',
    ]),
  );
  // Wait for the links.
  for (let i = 0; i < 100 && (await d.berth(['exec', 'jail', 'test', '-L', '/tmp/d/root'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const f = join(scratch, tag);
  writeFileSync(f, 'jailed\n');
  await ok(d.berth(['cp', f, `jail:../../../../etc/${tag}-a`]));
  await ok(d.docker(['cp', f, `jail:/tmp/toetc/${tag}-b`]));
  await ok(d.berth(['cp', f, `jail:/tmp/reletc/${tag}-c`]));
  await ok(d.docker(['cp', f, `jail:/tmp/d/root/etc/${tag}-d`]));
  const tarEsc = await makeTar({ [`../../../etc/${tag}-e`]: 'x' });
  const putEsc = await http(d.socket, 'PUT', `/v1.47/containers/jail/archive?path=/tmp`, tarEsc);
  assert.equal(putEsc.status, 500); // dockerd reports a refused entry as its untar failure
  for (const s of ['a', 'b', 'c', 'd', 'e']) assert.equal(existsSync(`/etc/${tag}-${s}`), false, `host /etc/${tag}-${s}`);
  assert.equal(await ok(d.berth(['exec', 'jail', 'sh', '-c', `cat /etc/${tag}-a /etc/${tag}-b /etc/${tag}-c /etc/${tag}-d`])), 'jailed\n'.repeat(4));
  // Reading through the links reads the container's files, not the host's.
  const hostHostname = readFileSync('/etc/hostname', 'utf8');
  await ok(d.berth(['cp', 'jail:/tmp/toetc/hostname', join(scratch, 'read-hostname')]));
  assert.notEqual(readFileSync(join(scratch, 'read-hostname'), 'utf8'), hostHostname);
  const st = await http(d.socket, 'HEAD', `/v1.47/containers/jail/archive?path=/tmp/toetc`);
  assert.equal(st.status, 200);
  const stat = JSON.parse(Buffer.from(String(st.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.equal(stat.name, 'toetc');
  assert.equal(stat.linkTarget, '/etc');
  await ok(d.berth(['rm', '-f', 'jail']));
});

test('unknown container and missing paths: Docker words and statuses', async () => {
  await ok(d.berth(['create', '--name', 'errs', 'busybox']));
  const g = await http(d.socket, 'GET', '/v1.47/containers/errs/archive?path=/nope');
  assert.equal(g.status, 404);
  assert.equal(JSON.parse(g.body).message, 'Could not find the file /nope in container errs');
  const h = await http(d.socket, 'HEAD', '/v1.47/containers/nosuch/archive?path=/');
  assert.equal(h.status, 404);
  const p = await http(d.socket, 'PUT', '/v1.47/containers/errs/archive?path=/nope', await makeTar({ a: 'a' }));
  assert.equal(p.status, 404);
  const e = await http(d.socket, 'GET', '/v1.47/containers/nosuch/export');
  assert.equal(e.status, 404);
  assert.equal(JSON.parse(e.body).message, 'No such container: nosuch');
  for (const cli of ['berth', 'docker'] as const) {
    const c = (args: string[]) => (cli === 'berth' ? d.berth(args) : d.docker(args));
    const r = await c(['cp', 'errs:/nope', scratch]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Could not find the file \/nope in container errs|No such container:path: errs:\/nope/);
    const u = await c(['cp', 'nosuch:/etc/hosts', scratch]);
    assert.equal(u.code, 1);
    assert.match(u.stderr, /No such container: nosuch/);
    const x = await c(['export', '-o', join(scratch, 'x.tar'), 'nosuch']);
    assert.equal(x.code, 1);
    assert.match(x.stderr, /No such container: nosuch/);
  }
  await ok(d.berth(['rm', 'errs']));
});

test('a client that stops reading an export, a cp or a save midway leaves berthd serving', async () => {
  // A big file, so the reader leaves in the middle of it: the file must not stay open (the rootfs could not be unmounted).
  await ok(d.berth(['run', '--name', 'quitter', 'busybox', 'dd', 'if=/dev/zero', 'of=/big', 'bs=1M', 'count=30']));
  const env = { ...process.env, DOCKER_HOST: d.host };
  for (const cmd of [
    'docker export quitter | head -c 1000',
    'docker cp quitter:/big - | head -c 100000',
    'docker save busybox | head -c 1000',
    'docker export quitter | tar t | head -2',
  ]) {
    await run('sh', ['-c', `${cmd} >/dev/null`], { env });
    assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200, `berthd still answers after: ${cmd}`);
  }
  // and the next export is whole
  const whole = await run('sh', ['-c', 'docker export quitter | tar t | wc -l'], { env });
  assert.ok(Number(whole.stdout.trim()) > 100, whole.stdout);
  await ok(d.berth(['rm', 'quitter'])); // its rootfs unmounts: nothing is left open in it
});

test('export then import gives the same tree (the migration example)', async () => {
  await ok(
    d.berth([
      'run',
      '--name',
      'migrate',
      '-v',
      'expvol:/data',
      'busybox',
      'sh',
      '-c',
      'mkdir -p /tmp && touch /tmp/test && echo v > /data/in-volume && chmod 4755 /tmp/test && ln -s /tmp/test /tmp/tl',
    ]),
  );
  const t1 = join(scratch, 'busybox-export.tar');
  await ok(d.docker(['export', 'migrate', '-o', t1]));
  const list = (await ok(run('tar', ['-tvf', t1]))).split('\n');
  assert.ok(
    list.some((l) => / tmp\/test$/.test(l) && l.startsWith('-rwsr-xr-x')),
    'tmp/test with its mode',
  );
  assert.ok(list.some((l) => / tmp\/tl -> \/tmp\/test$/.test(l)));
  assert.ok(!list.some((l) => / data\/in-volume$/.test(l)), 'volumes are not exported');
  await ok(d.berth(['import', t1, 'migrated:v1']));
  await ok(d.berth(['create', '--name', 'migrated', 'migrated:v1', 'true']));
  const t2 = join(scratch, 'again.tar');
  const r = await run('sh', ['-c', `${process.execPath} ${join(process.cwd(), 'bin', 'berth')} -H ${d.host} export migrated > ${t2}`]);
  assert.equal(r.code, 0, r.stderr);
  const a = join(scratch, 'x1');
  const b = join(scratch, 'x2');
  mkdirSync(a);
  mkdirSync(b);
  await ok(run('tar', ['-C', a, '-xf', t1]));
  await ok(run('tar', ['-C', b, '-xf', t2]));
  assert.equal(await tree(b), await tree(a));
  await ok(run('diff', ['-r', '--no-dereference', a, b]));
  assert.equal(await ok(d.berth(['run', '--rm', 'migrated:v1', 'ls', '/tmp/test'])), '/tmp/test\n');
  await ok(d.berth(['rm', 'migrate', 'migrated']));
});
