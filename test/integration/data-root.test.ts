/**
 * The data root keeps other local users out, as /var/lib/docker does: after
 * import, push, pull and run nothing under it is readable by "other", a user
 * who is not root can neither list it nor read a blob, containers running as
 * a non-root user still read their files, and a store left with 0755/0644
 * modes is fixed when berthd starts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { Daemon, importBusybox, tempDir, cleanupDir } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';

let d: Daemon;
let dir: string;
let registry: RegistryProc;

before(async () => {
  dir = tempDir('berth-dataroot-');
  // The test's own directory lets anyone through, so the data root's modes alone decide.
  chmodSync(dir, 0o711);
  process.env.DOCKER_CONFIG = join(dir, 'berth-config');
  mkdirSync(join(dir, 'daemon'), { mode: 0o711 });
  d = new Daemon(join(dir, 'daemon'));
  await d.start();
  await importBusybox(d);
  registry = new RegistryProc(join(dir, 'registry'));
  await registry.start();
});
after(async () => {
  await registry?.stop();
  await d?.cleanup();
  cleanupDir(dir);
});

interface Leak {
  path: string;
  mode: string;
}

/**
 * Entries under `root` that a user who is neither owner nor in the group could
 * read: readable by other, with every directory from `root` down to them
 * searchable by other. (A layer's own files keep their modes — a container
 * needs its /bin/sh 0755 — behind directories other users cannot pass.)
 */
function readableByOther(root: string): Leak[] {
  const out: Leak[] = [];
  const walk = (p: string, reachable: boolean) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (reachable && st.mode & 0o004) out.push({ path: relative(root, p) || '.', mode: (st.mode & 0o7777).toString(8) });
    if (st.isDirectory()) {
      const through = reachable && (st.mode & 0o001) !== 0;
      for (const name of readdirSync(p)) walk(join(p, name), through);
    }
  };
  walk(root, true);
  return out;
}

/** Berth's own metadata (blobs, image records) that is not exactly 0700 (directories) or 0600 (files). */
function notPrivate(root: string, sub: string): Leak[] {
  const out: Leak[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o7777;
    if (mode !== (st.isDirectory() ? 0o700 : 0o600)) out.push({ path: relative(root, p), mode: mode.toString(8) });
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(join(root, sub));
  return out;
}

/** Run a command as nobody (uid/gid 65534, no groups). */
function asNobody(cmd: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ...cmd], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

function assertClosed(root: string): void {
  assert.deepEqual(readableByOther(root), []);
  assert.deepEqual(notPrivate(root, 'content'), []);
  assert.deepEqual(notPrivate(root, 'images'), []);
  // dockerd's modes for its top level.
  const modes = Object.fromEntries(
    ['.', 'containers', 'snapshots', 'content', 'images', 'volumes'].map((n) => [n, (lstatSync(join(root, n)).mode & 0o7777).toString(8)]),
  );
  assert.deepEqual(modes, { '.': '710', containers: '710', snapshots: '710', content: '700', images: '700', volumes: '701' });
  const blobs = readdirSync(join(root, 'content', 'blobs', 'sha256'));
  assert.ok(blobs.length > 0);
  const ls = asNobody(['ls', root]);
  assert.notEqual(ls.status, 0);
  assert.match(ls.stderr, /Permission denied/);
  const cat = asNobody(['cat', join(root, 'content', 'blobs', 'sha256', blobs[0]!)]);
  assert.notEqual(cat.status, 0);
  assert.match(cat.stderr, /Permission denied/);
}

test('after import, push, pull and run nothing in the data root is readable by other users; a --user 1000 container still reads its files', async () => {
  const name = `${registry.host}/perm/busybox:1`;
  assert.equal((await d.berth(['tag', 'busybox', name])).code, 0);
  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal((await d.berth(['rmi', name])).code, 0);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);

  assert.equal((await d.berth(['volume', 'create', 'permvol'])).code, 0);
  const seed = await d.berth(['run', '--rm', '-v', 'permvol:/data', name, 'sh', '-c', 'echo in-volume > /data/f']);
  assert.equal(seed.code, 0, seed.stderr);
  const u = await d.berth([
    'run',
    '--name',
    'as1000',
    '--user',
    '1000',
    '-v',
    'permvol:/data',
    name,
    'sh',
    '-c',
    'id -u; head -1 /etc/passwd; grep -q localhost /etc/hosts && echo hosts; cat /etc/hostname >/dev/null && echo hostname; ' +
      'grep -c nameserver /etc/resolv.conf >/dev/null && echo resolv; cat /data/f; echo mine > /tmp/x && cat /tmp/x; /bin/busybox true && echo exec',
  ]);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(u.stdout, '1000\nroot:x:0:0:root:/root:/bin/sh\nhosts\nhostname\nresolv\nin-volume\nmine\nexec\n');
  const id = (await d.berth(['run', '-d', '--user', '1000', name, 'sleep', '300'])).stdout.trim();
  try {
    const ex = await d.berth(['exec', id, 'sh', '-c', 'id -u; cat /etc/hostname']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, `1000\n${id.slice(0, 12)}\n`);
    // With a container running (its rootfs mounted under snapshots/) as well.
    assertClosed(d.dataRoot);
  } finally {
    await d.berth(['rm', '-f', id, 'as1000']);
  }
});

test('a store with 0755/0644 modes is fixed when berthd starts', async () => {
  await d.stop();
  // As an older Berth (or an unpacked backup) left it.
  spawnSync('chmod', ['755', d.dataRoot]);
  for (const sub of ['content', 'images', 'containers', 'snapshots']) spawnSync('chmod', ['755', join(d.dataRoot, sub)]);
  spawnSync('find', [join(d.dataRoot, 'content'), join(d.dataRoot, 'images'), '-type', 'd', '-exec', 'chmod', '755', '{}', '+']);
  spawnSync('find', [join(d.dataRoot, 'content'), join(d.dataRoot, 'images'), '-type', 'f', '-exec', 'chmod', '644', '{}', '+']);
  assert.notDeepEqual(readableByOther(d.dataRoot), []);
  await d.start();
  assertClosed(d.dataRoot);
  const r = await d.berth(['run', '--rm', '--user', '1000', 'busybox', 'cat', '/etc/hostname']);
  assert.equal(r.code, 0, r.stderr);
});
