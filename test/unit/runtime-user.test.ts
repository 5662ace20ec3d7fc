/**
 * --user resolution against a rootfs's /etc/passwd and /etc/group, with
 * runc's libcontainer/user rules and Docker's error messages.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from '../../src/runtime/user.js';
import { Tree } from '../../src/archive/tree.js';
import { InvalidArgumentError } from '../../src/core/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-user-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function rootfs(name: string, passwd?: string, group?: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  if (passwd !== undefined) writeFileSync(join(dir, 'etc/passwd'), passwd);
  if (group !== undefined) writeFileSync(join(dir, 'etc/group'), group);
  return dir;
}

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  '',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  'app:x:1000:1000:App,,,:/home/app:/bin/bash',
  'nohome:x:1001:1001::',
].join('\n');
const GROUP = ['root:x:0:', 'daemon:x:1:', 'www-data:x:33:', 'wheel:x:10:root,app', 'app:x:1000:', 'docker:x:999:app', 'audio:x:29:www-data , app'].join('\n');
const full = rootfs('full', PASSWD, GROUP);

test("empty user is root, with root's home and groups", async () => {
  assert.deepEqual(await resolveUser(full, ''), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
  assert.deepEqual(await resolveUser(full, undefined), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
});

test('by name and by uid: gid, home and supplementary groups from the files', async () => {
  const byName = await resolveUser(full, 'app');
  assert.deepEqual(byName, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29], home: '/home/app' });
  assert.deepEqual(await resolveUser(full, '1000'), byName);
  assert.deepEqual(await resolveUser(full, 'www-data'), { uid: 33, gid: 33, additionalGids: [33, 29], home: '/var/www' });
  assert.deepEqual(await resolveUser(full, 'nohome'), { uid: 1001, gid: 1001, additionalGids: [1001], home: '/' });
});

test('numeric uid without a passwd entry: gid 0, home /', async () => {
  assert.deepEqual(await resolveUser(full, '4242'), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  assert.deepEqual(await resolveUser(full, '4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
});

test('explicit group: by name or gid, and no /etc/group membership', async () => {
  assert.deepEqual(await resolveUser(full, 'app:docker'), { uid: 1000, gid: 999, additionalGids: [999], home: '/home/app' });
  assert.deepEqual(await resolveUser(full, 'app:5555'), { uid: 1000, gid: 5555, additionalGids: [5555], home: '/home/app' });
  assert.deepEqual(await resolveUser(full, '1000:33'), { uid: 1000, gid: 33, additionalGids: [33], home: '/home/app' });
  assert.deepEqual(await resolveUser(full, '33:wheel'), { uid: 33, gid: 10, additionalGids: [10], home: '/var/www' });
});

test('group-add: names and numbers, numbers need no entry', async () => {
  assert.deepEqual(await resolveUser(full, 'daemon', ['audio', '4000', '33']), { uid: 1, gid: 1, additionalGids: [1, 29, 4000, 33], home: '/usr/sbin' });
  await assert.rejects(
    resolveUser(full, 'daemon', ['nosuchgroup']),
    (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unable to find group nosuchgroup: no matching entries in group file',
  );
});

test("unknown names fail with docker's messages", async () => {
  await assert.rejects(
    resolveUser(full, 'nobody'),
    (e: unknown) => e instanceof InvalidArgumentError && e.status === 400 && e.message === 'unable to find user nobody: no matching entries in passwd file',
  );
  await assert.rejects(resolveUser(full, 'app:nogroup'), /^InvalidArgumentError: unable to find group nogroup: no matching entries in group file$/);
  await assert.rejects(resolveUser(full, '99999999999'), /uids and gids must be in range/);
});

test('missing files: only numeric ids and root work', async () => {
  const empty = rootfs('empty');
  assert.deepEqual(await resolveUser(empty, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
  assert.deepEqual(await resolveUser(empty, '1000:1000', ['50']), { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: '/' });
  await assert.rejects(resolveUser(empty, 'app'), /unable to find user app: no matching entries in passwd file/);
  await assert.rejects(resolveUser(empty, '0:staff'), /unable to find group staff: no matching entries in group file/);
});

test('symlinks are resolved inside the rootfs, never to the host', async () => {
  // Absolute link: must land in <rootfs>/tmp/passwd, not the host's /tmp.
  const abs = rootfs('abs');
  mkdirSync(join(abs, 'tmp'));
  writeFileSync(join(abs, 'tmp/passwd'), 'inside:x:7:7::/in:/bin/sh\n');
  symlinkSync('/tmp/passwd', join(abs, 'etc/passwd'));
  assert.equal((await resolveUser(abs, 'inside')).uid, 7);

  // A relative link climbing out, and an absolute link to a host file: both
  // stay in the rootfs, where the target does not exist.
  writeFileSync(join(tmp, 'hostpasswd'), 'hostonly:x:9:9::/:/bin/sh\n');
  writeFileSync(join(tmp, 'hostgroup'), 'hostgrp:x:9:\n');
  const esc = rootfs('esc');
  symlinkSync('../'.repeat(20) + join(tmp, 'hostpasswd').slice(1), join(esc, 'etc/passwd'));
  symlinkSync(join(tmp, 'hostgroup'), join(esc, 'etc/group'));
  await assert.rejects(resolveUser(esc, 'hostonly'), /unable to find user hostonly/);
  await assert.rejects(resolveUser(esc, '0:hostgrp'), /unable to find group hostgrp/);
  const tree = Tree.open(esc);
  try {
    const found = tree.lookup('/etc/passwd', { followLast: true, missingOk: true });
    tree.release(found.dirfd);
    assert.equal(found.path, join(tmp, 'hostpasswd'), 'the link resolves inside the rootfs');
  } finally {
    tree.close();
  }

  // A symlinked /etc directory (as some images have) works.
  const dirlink = join(tmp, 'dirlink');
  mkdirSync(join(dirlink, 'private/etc'), { recursive: true });
  writeFileSync(join(dirlink, 'private/etc/passwd'), 'viadir:x:8:8::/d:/bin/sh\n');
  symlinkSync('/private/etc', join(dirlink, 'etc'));
  assert.deepEqual(await resolveUser(dirlink, 'viadir'), { uid: 8, gid: 8, additionalGids: [8], home: '/d' });

  // A link loop fails cleanly.
  const loop = rootfs('loop');
  symlinkSync('/etc/passwd', join(loop, 'etc/passwd'));
  await assert.rejects(resolveUser(loop, 'x'), /too many levels of symbolic links/);
});

test('a FIFO or directory in place of /etc/passwd is ignored, not read', async () => {
  const odd = rootfs('odd');
  mkdirSync(join(odd, 'etc/passwd'));
  const fifo = spawnSync('mkfifo', [join(odd, 'etc/group')]);
  assert.deepEqual(await resolveUser(odd, '5:6'), { uid: 5, gid: 6, additionalGids: [6], home: '/' });
  if (fifo.status === 0) await assert.rejects(resolveUser(odd, '5:grp'), /unable to find group grp/);
});
