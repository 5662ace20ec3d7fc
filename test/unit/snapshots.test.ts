/**
 * Snapshotters, both drivers: layers unpack with everything a filesystem
 * carries, whiteouts and opaque directories hide lower content, and no tar
 * can write outside its layer. Needs root (ownership, device nodes, mounts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, lstatSync, readFileSync, readlinkSync, existsSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { createSnapshotter } from '../../src/snapshots/index.js';
import { overlaySupported } from '../../src/snapshots/overlay2.js';
import type { DriverName, Snapshotter } from '../../src/snapshots/snapshotter.js';
import type { BlobFile } from '../../src/archive/blob-apply.js';
import { sha256Digest } from '../../src/core/digest.js';

const T = 1_600_000_000; // a fixed mtime, seconds

interface Ent {
  name: string;
  type?: '0' | '1' | '2' | '3' | '5';
  body?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  link?: string;
  dev?: [number, number];
  xattrs?: Record<string, Buffer>;
}

/** A raw ustar writer, so PAX records can carry binary xattr values. */
function tar(entries: Ent[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, type: string, size: number, e: Partial<Ent>) => {
    const h = Buffer.alloc(512);
    const oct = (v: number, off: number, len: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, 'latin1');
    h.write(name, 0, 100, 'utf8');
    oct(e.mode ?? 0o644, 100, 8);
    oct(e.uid ?? 0, 108, 8);
    oct(e.gid ?? 0, 116, 8);
    oct(size, 124, 12);
    oct(T, 136, 12);
    h.write('        ', 148, 'latin1');
    h.write(type, 156, 'latin1');
    if (e.link) h.write(e.link, 157, 100, 'utf8');
    h.write('ustar\0' + '00', 257, 'latin1');
    if (e.dev) {
      oct(e.dev[0], 329, 8);
      oct(e.dev[1], 337, 8);
    }
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    return h;
  };
  const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
  for (const e of entries) {
    if (e.xattrs) {
      const recs = Object.entries(e.xattrs).map(([k, v]) => {
        const body = Buffer.concat([Buffer.from(` SCHILY.xattr.${k}=`), v, Buffer.from('\n')]);
        let len = body.length + 1;
        while (String(len).length + body.length !== len) len = String(len).length + body.length;
        return Buffer.concat([Buffer.from(String(len)), body]);
      });
      const pax = Buffer.concat(recs);
      blocks.push(header('PaxHeader', 'x', pax.length, {}), pax, pad(pax.length));
    }
    const body = Buffer.from(e.body ?? '');
    blocks.push(header(e.name, e.type ?? '0', body.length, e), body, pad(body.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const base = tar([
  { name: 'etc/', type: '5', mode: 0o755 },
  { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
  { name: 'bin/', type: '5', mode: 0o755 },
  { name: 'bin/sh', body: '#!shell', mode: 0o4755, uid: 1000, gid: 1001 },
  { name: 'bin/hard', type: '1', link: 'bin/sh' },
  { name: 'bin/soft', type: '2', link: 'sh' },
  { name: 'dev/', type: '5', mode: 0o755 },
  { name: 'dev/null', type: '3', dev: [1, 3], mode: 0o666 },
  { name: 'data/', type: '5', mode: 0o750, uid: 33, gid: 33 },
  { name: 'data/old1', body: 'old' },
  { name: 'data/sub/', type: '5' },
  { name: 'data/sub/old2', body: 'old' },
  { name: 'gone.txt', body: 'bye' },
  { name: 'caps', body: 'x', xattrs: { 'user.bin': Buffer.from([0x00, 0xff, 0x80, 0x01]) } },
]);

const upper = tar([
  { name: '.wh.gone.txt' },
  { name: 'data/', type: '5', mode: 0o750, uid: 33, gid: 33 },
  { name: 'data/.wh..wh..opq' },
  { name: 'data/new', body: 'new' },
  { name: 'etc/passwd', body: 'changed\n' },
]);

const roots: string[] = [];
after(() => {
  for (const r of roots) {
    spawnSync('sh', ['-c', `grep -o " ${r}[^ ]*" /proc/self/mountinfo | xargs -r -n1 umount`]);
    rmSync(r, { recursive: true, force: true });
  }
});

async function open(driver: DriverName): Promise<Snapshotter> {
  const root = mkdtempSync('/var/tmp/berth-snap-');
  roots.push(root);
  const s = createSnapshotter(driver, root);
  await s.init();
  return s;
}

const xattr = (path: string, name: string) => spawnSync('getfattr', ['-h', '--only-values', '-n', name, path]).stdout as Buffer;

test('overlay2: a chain too deep for one page of mount options (by absolute paths) mounts by relative ones, and unmounts', async (t) => {
  if (!(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
  const s = await open('overlay2');
  let parent: Awaited<ReturnType<Snapshotter['applyLayer']>> | undefined;
  // 110 layers: ~50 bytes each by absolute path (over 4095), ~28 by the short relative link (under).
  for (let i = 0; i < 110; i++) parent = await s.applyLayer({ parent: parent?.chainId, tar: Readable.from([tar([{ name: `f${i}`, body: String(i) }])]) });
  await s.prepare('deep', parent!.chainId);
  const root = await s.mount('deep');
  assert.equal(readFileSync(join(root, 'f0'), 'utf8'), '0');
  assert.equal(readFileSync(join(root, 'f109'), 'utf8'), '109');
  const mountLine = (at: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === at) ?? '';
  assert.match(mountLine(root), /lowerdir=l\//, 'the deep chain went by relative paths');
  await s.unmount('deep');
  assert.deepEqual(readdirSync(root), [], 'unmounted: the merged dir is empty again');
  // A shallow chain goes by mount(2) itself with absolute paths, as the mount table shows.
  await s.prepare('shallow', (await s.applyLayer({ tar: Readable.from([tar([{ name: 'x', body: 'x' }])]) })).chainId);
  const shallow = await s.mount('shallow');
  const line =
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === shallow) ?? '';
  assert.match(line, /lowerdir=\/var\/tmp\/berth-snap-/);
  await s.remove('shallow');
  await s.remove('deep');
});

for (const driver of ['overlay2', 'vfs'] as const) {
  test(`${driver}: a layer keeps modes, owners, links, devices, xattrs and times`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const l1 = await s.applyLayer({ tar: Readable.from([base]) });
    assert.equal(l1.diffId, sha256Digest(base));
    assert.equal(l1.chainId, l1.diffId);
    const dir = s.layerDiffPath(l1.chainId);
    const sh = lstatSync(join(dir, 'bin/sh'));
    assert.equal(sh.mode & 0o7777, 0o4755);
    assert.equal(sh.uid, 1000);
    assert.equal(sh.gid, 1001);
    assert.equal(sh.mtimeMs, T * 1000);
    assert.equal(lstatSync(join(dir, 'bin/hard')).ino, sh.ino);
    assert.equal(readlinkSync(join(dir, 'bin/soft')), 'sh');
    const nul = lstatSync(join(dir, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    const data = lstatSync(join(dir, 'data'));
    assert.equal(data.mode & 0o7777, 0o750);
    assert.equal(data.uid, 33);
    assert.equal(data.mtimeMs, T * 1000, 'directory times are set after their contents');
    assert.deepEqual([...xattr(join(dir, 'caps'), 'user.bin')], [0x00, 0xff, 0x80, 0x01]);
    // Regular files' bytes plus the symlink's target length, as dockerd's overlay2 counts a layer's directory.
    assert.equal(l1.size, 26 + 7 + 3 + 3 + 3 + 1 + 'sh'.length);

    // The same layer again is the same directory, unpacked once.
    const again = await s.applyLayer({ tar: Readable.from([base]), diffId: l1.diffId });
    assert.deepEqual(again, l1);
    assert.equal((await s.listLayers()).length, 1);
  });

  test(`${driver}: whiteouts and opaque directories hide lower content`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const l1 = await s.applyLayer({ tar: Readable.from([base]) });
    const l2 = await s.applyLayer({ parent: l1.chainId, tar: Readable.from([upper]) });
    assert.equal(l2.chainId, sha256Digest(`${l1.chainId} ${sha256Digest(upper)}`));
    assert.equal(l2.parent, l1.chainId);
    await s.prepare('c1', l2.chainId);
    const root = await s.mount('c1');
    assert.equal(await s.mount('c1'), root, 'mount is idempotent');
    assert.ok(!existsSync(join(root, 'gone.txt')));
    assert.deepEqual(readdirSync(join(root, 'data')).sort(), ['new']);
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), 'changed\n');
    assert.equal(readFileSync(join(root, 'bin/sh'), 'utf8'), '#!shell');
    // Writes land in the snapshot's own layer, not in the image's.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, 'etc/passwd'), 'mine\n');
    assert.equal(readFileSync(join(s.upperPath('c1'), 'etc/passwd'), 'utf8'), 'mine\n');
    await s.remove('c1');
    assert.deepEqual(await s.listActive(), []);
    await s.prepare('c2', l2.chainId);
    assert.equal(readFileSync(join(await s.mount('c2'), 'etc/passwd'), 'utf8'), 'changed\n');
    await s.remove('c2');

    await s.removeLayer(l2.chainId);
    assert.equal(await s.hasLayer(l2.chainId), false);
    assert.equal(await s.hasLayer(l1.chainId), true);
  });

  test(`${driver}: no tar entry writes outside its layer`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const outside = mkdtempSync('/var/tmp/berth-outside-');
    roots.push(outside);
    const bad: [string, Buffer, RegExp][] = [
      ['dot-dot', tar([{ name: `../../../../../..${outside}/a`, body: 'x' }]), /outside of the root/],
      ['hard link out', tar([{ name: 'h', type: '1', link: `../../../../../..${outside}/x` }]), /outside of the root/],
      ['truncated', tar([{ name: 'f', body: 'y'.repeat(5000) }]).subarray(0, 2000), /unexpected EOF/],
      ['garbage', Buffer.alloc(1024, 7), /invalid tar header/],
    ];
    for (const [what, buf, re] of bad) {
      await assert.rejects(s.applyLayer({ tar: Readable.from([buf]) }), (e: Error & { status?: number }) => {
        assert.match(e.message, re, what);
        assert.equal(e.status, 400, what);
        return true;
      });
    }
    // A symlink to / inside the layer is followed as the layer's own root.
    const l = await s.applyLayer({
      tar: Readable.from([
        tar([
          { name: 'escape', type: '2', link: outside },
          { name: 'escape/pwned', body: 'x' },
          { name: 'up', type: '2', link: '../../../../..' },
          { name: `up${outside}/pwned2`, body: 'x' },
        ]),
      ]),
    });
    assert.deepEqual(readdirSync(outside), []);
    assert.ok(existsSync(join(s.layerDiffPath(l.chainId), outside, 'pwned')));
    assert.ok(existsSync(join(s.layerDiffPath(l.chainId), outside, 'pwned2')));
    // Nothing half-made is left behind by the failures.
    assert.equal((await s.listLayers()).length, 1);
    const snapRoot = join((s as unknown as { root: string }).root, 'tmp');
    assert.deepEqual(readdirSync(snapRoot), []);
  });

  test(`${driver}: a blob file unpacks on a worker while it grows, and commits only after its parent`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const gzBase = gzipSync(base);
    const b1 = growingBlob(gzBase);
    // The upper layer starts while its parent is still unpacking; it may only commit after it.
    let parentDone!: () => void;
    const parentReady = new Promise<void>((r) => {
      parentDone = r;
    });
    const chain1 = sha256Digest(base);
    const b2 = growingBlob(gzipSync(upper));
    const p2 = s.applyLayer({ parent: chain1, parentReady, blob: b2.blob, diffId: sha256Digest(upper) });
    const p1 = s.applyLayer({ blob: b1.blob, diffId: chain1 });
    b1.grow(100);
    await new Promise((r) => setTimeout(r, 50));
    b1.grow(gzBase.length);
    b2.grow(b2.bytes.length);
    b2.verify();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await s.hasLayer(sha256Digest(`${chain1} ${sha256Digest(upper)}`)), false, 'not before its parent');
    b1.verify();
    const l1 = await p1;
    parentDone();
    const l2 = await p2;
    assert.equal(l1.diffId, sha256Digest(base));
    assert.equal(l2.parent, l1.chainId);
    const dir = s.layerDiffPath(l1.chainId);
    const sh = lstatSync(join(dir, 'bin/sh'));
    assert.equal(sh.mode & 0o7777, 0o4755, 'setuid survives the chown');
    assert.deepEqual([sh.uid, sh.gid], [1000, 1001]);
    const passwd = lstatSync(join(dir, 'etc/passwd'));
    assert.deepEqual([passwd.mode & 0o7777, passwd.uid, passwd.gid, passwd.mtimeMs], [0o644, 0, 0, T * 1000]);
    assert.deepEqual([...xattr(join(dir, 'caps'), 'user.bin')], [0x00, 0xff, 0x80, 0x01]);
    await s.prepare('c', l2.chainId);
    const root = await s.mount('c');
    assert.ok(!existsSync(join(root, 'gone.txt')));
    assert.deepEqual(readdirSync(join(root, 'data')).sort(), ['new']);
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), 'changed\n');
    await s.remove('c');
  });

  test(`${driver}: a file in a setgid directory gets the group its entry names`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const layer = tar([
      { name: 'shared/', type: '5', mode: 0o2775, gid: 50 },
      { name: 'shared/f', body: 'x', mode: 0o640 },
    ]);
    const b = growingBlob(gzipSync(layer));
    b.grow(b.bytes.length);
    b.verify();
    const l = await s.applyLayer({ blob: b.blob });
    const f = lstatSync(join(s.layerDiffPath(l.chainId), 'shared/f'));
    assert.deepEqual([f.uid, f.gid, f.mode & 0o7777], [0, 0, 0o640]);
  });

  test(`${driver}: a blob that fails, lies about its diffID or is not gzip commits nothing`, async (t) => {
    if (driver === 'overlay2' && !(await overlaySupported('/var/tmp'))) return t.skip('overlay cannot mount here');
    const s = await open(driver);
    const gz = gzipSync(base);
    const failing = growingBlob(gz);
    const p = s.applyLayer({ blob: failing.blob });
    failing.grow(200);
    await new Promise((r) => setTimeout(r, 50));
    failing.fail(new Error('connection reset by registry'));
    await assert.rejects(p, /connection reset by registry/);

    const lying = growingBlob(gz);
    lying.grow(gz.length);
    lying.verify();
    await assert.rejects(s.applyLayer({ blob: lying.blob, diffId: sha256Digest('other') }), (e: Error & { status?: number }) => {
      assert.match(e.message, /invalid diffID for layer sha256:test: expected/);
      assert.equal(e.status, 400);
      return true;
    });

    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 40, 400);
    const bad = growingBlob(corrupt);
    bad.grow(corrupt.length);
    bad.verify();
    await assert.rejects(s.applyLayer({ blob: bad.blob }), (e: Error & { status?: number }) => {
      assert.equal(e.status, 400, e.message);
      return true;
    });
    assert.deepEqual(await s.listLayers(), []);
    assert.deepEqual(readdirSync(join((s as unknown as { root: string }).root, 'tmp')), []);
  });
}

/** A blob file the test writes by hand, as a download would: grow() appends, verify() or fail() ends it. */
function growingBlob(bytes: Buffer) {
  const dir = mkdtempSync('/var/tmp/berth-blob-');
  roots.push(dir);
  const path = join(dir, 'blob');
  writeFileSync(path, '');
  let avail = 0;
  const watchers = new Set<(n: number, e?: Error) => void>();
  let ok!: () => void;
  let bad!: (e: Error) => void;
  const verified = new Promise<void>((res, rej) => {
    ok = res;
    bad = rej;
  });
  verified.catch(() => {});
  const blob: BlobFile = {
    name: 'sha256:test',
    paths: [join(dir, 'ingest'), path],
    size: bytes.length,
    available: () => avail,
    watch: (cb) => {
      watchers.add(cb);
      return () => watchers.delete(cb);
    },
    verified,
  };
  return {
    blob,
    bytes,
    grow(n: number) {
      appendFileSync(path, bytes.subarray(avail, n));
      avail = n;
      for (const w of watchers) w(n);
    },
    verify: () => ok(),
    fail(e: Error) {
      for (const w of watchers) w(avail, e);
      bad(e);
    },
  };
}
