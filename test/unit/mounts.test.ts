/** mount(2) and umount2(2) from berthd (native/berth_mount.c): they work, and fail as Node's fs calls fail. Needs root. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MS_BIND, mount, umount, unmountIfMounted } from '../../src/core/mounts.js';

const dir = mkdtempSync('/var/tmp/berth-mounts-');
after(() => rmSync(dir, { recursive: true, force: true }));

const mounted = (path: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);

test('a tmpfs and a bind mount come and go; unmounting what is no mount says so', async () => {
  await mount('tmpfs', dir, 'tmpfs', 0, 'size=1m,mode=0755');
  assert.ok(mounted(dir));
  writeFileSync(join(dir, 'f'), 'on tmpfs');
  const file = join(dir, 'bound');
  writeFileSync(file, '');
  await mount(join(dir, 'f'), file, null, MS_BIND);
  assert.equal(readFileSync(file, 'utf8'), 'on tmpfs');
  assert.equal(await unmountIfMounted(file), true);
  assert.equal(await unmountIfMounted(file), false, 'a file that is no mount');
  await umount(dir);
  assert.ok(!mounted(dir));
  assert.deepEqual(readdirSync(dir), []);
});

test('errors carry code, syscall and path, as fs errors do', async () => {
  await assert.rejects(mount('tmpfs', join(dir, 'missing'), 'tmpfs', 0), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.syscall, 'mount');
    assert.equal(e.path, join(dir, 'missing'));
    assert.match(e.message, /^ENOENT: No such file or directory, mount '/);
    return true;
  });
  await assert.rejects(umount(dir), { code: 'EINVAL', syscall: 'umount2' });
  await assert.rejects(mount('none', dir, 'no-such-fs', 0), { code: 'ENODEV' });
});

test('a busy mount is detached', async () => {
  await mount('tmpfs', dir, 'tmpfs', 0, 'size=1m');
  writeFileSync(join(dir, 'held'), 'x');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(join(dir, 'held'), 'r');
  try {
    await assert.rejects(umount(dir), { code: 'EBUSY' });
    assert.equal(await unmountIfMounted(dir), true);
    assert.ok(!mounted(dir));
  } finally {
    closeSync(fd);
  }
});

test('bad arguments are a TypeError, not a crash', () => {
  assert.throws(() => mount('tmpfs', 42 as unknown as string, 'tmpfs', 0), TypeError);
  assert.throws(() => umount(undefined as unknown as string), TypeError);
});
