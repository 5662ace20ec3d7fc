/** Mount specifications (-v, --mount, --volumes-from) and in-container path resolution. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBind, parseMount, parseVolumesFrom, checkLocalOpts } from '../../src/engine/volumes/specs.js';
import { Tree } from '../../src/archive/tree.js';

test('-v specs: named volumes, binds, modes, and Docker errors', () => {
  assert.deepEqual(parseBind('data:/var/lib/x'), {
    type: 'volume',
    source: 'data',
    destination: '/var/lib/x',
    mode: 'z',
    rw: true,
    propagation: '',
    copyData: true,
    mustExist: false,
  });
  const b = parseBind('/host/dir/:/ctr/:ro,rshared');
  assert.equal(b.type, 'bind');
  assert.equal(b.source, '/host/dir');
  assert.equal(b.destination, '/ctr');
  assert.equal(b.rw, false);
  assert.equal(b.propagation, 'rshared');
  assert.equal(parseBind('vv:/d:nocopy').copyData, false);
  assert.throws(() => parseBind('vv:/d:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('vv:/d:ro,rw'), /invalid mode: ro,rw/);
  assert.throws(() => parseBind('vv:rel'), /invalid volume specification: 'vv:rel'/);
  assert.throws(() => parseBind('a/b:/x'), /includes invalid characters for a local volume name/);
  assert.throws(() => parseBind('/a:/'), /destination can't be '\/'/);
});

test('--mount objects and --volumes-from', () => {
  assert.equal(parseMount({ Type: 'bind', Source: '/x', Target: '/y' }).mustExist, true);
  assert.equal(parseMount({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { CreateMountpoint: true } }).mustExist, false);
  assert.deepEqual(parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } }).tmpfsOptions, ['size=1024', 'mode=1777']);
  assert.throws(() => parseMount({ Type: 'bind', Target: '/y' }), /invalid mount config for type "bind": field Source must not be empty/);
  assert.throws(() => parseMount({ Type: 'tmpfs', Source: 'x', Target: '/y' }), /field Source must not be specified/);
  assert.throws(() => parseMount({ Type: 'weird', Target: '/y' }), /mount type unknown/);
  assert.throws(() => parseMount({ Type: 'volume', Target: 'rel' }), /mount path must be absolute/);
  assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
  assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1' });
  assert.throws(() => parseVolumesFrom('c1:xx'), /invalid mode: xx/);
  assert.throws(() => checkLocalOpts({ foo: '1' }), /invalid option: "foo"/);
  checkLocalOpts({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
});

const root = mkdtempSync(join(tmpdir(), 'berth-resolve-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('paths resolve inside the container: .., absolute and relative links, mounts', () => {
  const rootfs = join(root, 'rootfs');
  const vol = join(root, 'vol');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'a', 'b'), { recursive: true });
  mkdirSync(vol);
  symlinkSync('/etc', join(rootfs, 'a', 'toetc'));
  symlinkSync('../../../../../../etc', join(rootfs, 'a', 'b', 'up'));
  symlinkSync('/', join(vol, 'root'));
  const view = Tree.open(rootfs);
  view.mount('/data', Tree.open(vol));
  /** Where `path` resolves: its clean path in the container, and the host directory that holds it. */
  const resolve = (path: string, followLast: boolean) => {
    const f = view.lookup(path, { followLast, missingOk: true });
    try {
      const dir = fstatSync(f.dirfd);
      return { ctrPath: f.path, dirIno: dir.ino, name: f.name };
    } finally {
      view.release(f.dirfd);
    }
  };
  const ino = (p: string) => statSync(p).ino;
  try {
    assert.deepEqual(resolve('/../../etc/x', true), { ctrPath: '/etc/x', dirIno: ino(join(rootfs, 'etc')), name: 'x' });
    assert.deepEqual(resolve('/a/toetc/passwd', true), { ctrPath: '/etc/passwd', dirIno: ino(join(rootfs, 'etc')), name: 'passwd' });
    assert.deepEqual(resolve('/a/b/up/shadow', true), { ctrPath: '/etc/shadow', dirIno: ino(join(rootfs, 'etc')), name: 'shadow' });
    assert.deepEqual(resolve('/data/root/etc', true), { ctrPath: '/etc', dirIno: ino(rootfs), name: 'etc' });
    assert.deepEqual(resolve('/data/f', true), { ctrPath: '/data/f', dirIno: ino(vol), name: 'f' });
    // The last component is left as a link unless asked.
    assert.deepEqual(resolve('/a/toetc', false), { ctrPath: '/a/toetc', dirIno: ino(join(rootfs, 'a')), name: 'toetc' });
    symlinkSync('loop2', join(rootfs, 'loop1'));
    symlinkSync('loop1', join(rootfs, 'loop2'));
    assert.throws(() => resolve('/loop1/x', true), /too many levels of symbolic links/);
  } finally {
    view.close();
  }
});
