/**
 * A build can not outgrow or outlive its welcome: a context bomb is refused
 * with berthd's memory and spool dir left as they were; hostile links in a
 * context never carry host files into an image; a berthd killed mid-build
 * leaves no mounted or stray snapshot after restart (and `system check`
 * finds and repairs any); a client that hangs up mid-build cancels it.
 * Checked from the host: /proc/mounts, /proc/<pid>/status, the data root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createGzip } from 'node:zlib';
import { Daemon, startDaemon, importBusybox, makeTar, http, tempDir } from '../helpers.js';
import { encodeHeader, padding, TAR_END } from '../../src/archive/tar-writer.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  if (d) {
    await d.stop();
    killLeftovers(d.dir);
    await d.cleanup();
  }
});

const spoolDir = (x: Daemon) => join(x.dataRoot, 'tmp', 'build');
const activeDir = () => join(d.dataRoot, 'snapshots', 'overlay2', 'active');
const mountsUnder = (dir: string) =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[1]?.startsWith(dir + '/'));
const psAll = async () => (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
const imageIds = async () => (await d.berth(['images', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();

/** Processes (shims, containers) whose command line names `dir`: what a test must not leave behind. */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Should a check fail: stop this suite's own shims and mounts so the next run starts clean. */
function killLeftovers(dir: string): void {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const m of mountsUnder(dir)
    .map((l) => l.split(' ')[1]!)
    .sort()
    .reverse())
    spawnSync('umount', ['-l', m]);
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function contextDir(name: string, files: Record<string, string>): string {
  const dir = join(d.dir, 'ctx', name);
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), v);
  }
  return dir;
}

test('berthd killed -9 during a RUN step: after restart no step container, mount or snapshot is left', async () => {
  const dir = contextDir('killed', { Dockerfile: 'FROM busybox\nRUN echo started && sleep 30\n' });
  const imagesBefore = await imageIds();
  const building = d.berth(['build', '-t', 'never:built', dir]);
  await until('the RUN step to start', async () => (await d.berth(['ps', '-q'])).stdout.trim() !== '');
  assert.ok(mountsUnder(activeDir()).length > 0, 'the step runs on a mounted snapshot');
  assert.equal(readdirSync(spoolDir(d)).length, 1, 'the build has its context spooled');
  await d.kill9();
  await building;
  await d.start();
  assert.deepEqual(mountsUnder(activeDir()), [], 'no overlay is left mounted under snapshots/overlay2/active');
  assert.deepEqual(readdirSync(activeDir()), [], 'no writable snapshot is left');
  assert.deepEqual(readdirSync(spoolDir(d)), [], "the killed build's spooled context is swept");
  assert.deepEqual(await psAll(), [], 'the step container is gone');
  assert.deepEqual(processesUnder(join(d.dir, 'exec', 'containers')), [], 'its shim is gone');
  assert.deepEqual(await imageIds(), imagesBefore);
  const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'still works']);
  assert.equal(r.stdout, 'still works\n', r.stderr);
});

test('a stray snapshot (mounted, owned by nothing) is reported by system check and removed by --repair', async () => {
  const kept = (await d.berth(['create', 'busybox', 'echo', 'kept'])).stdout.trim();
  const built = await d.berth(['build', '-t', 'stage:1', contextDir('stray', { Dockerfile: 'FROM busybox\nRUN echo layer > /layer\n' })]);
  assert.equal(built.code, 0, built.stderr);
  // Plant what a killed build leaves: an active snapshot on busybox's layer, overlay mounted.
  const layer = readdirSync(join(d.dataRoot, 'snapshots', 'overlay2', 'l'))[0]!;
  const stray = join(activeDir(), 'build-0123456789abcdef01234567');
  for (const sub of ['diff', 'work', 'merged']) mkdirSync(join(stray, sub), { recursive: true });
  writeFileSync(join(stray, 'meta.json'), '{}');
  writeFileSync(join(stray, 'diff', 'junk'), 'junk');
  const lower = join(d.dataRoot, 'snapshots', 'overlay2', 'l', layer);
  const m = spawnSync(
    'mount',
    ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(stray, 'diff')},workdir=${join(stray, 'work')}`, join(stray, 'merged')],
    { encoding: 'utf8' },
  );
  assert.equal(m.status, 0, m.stderr);

  const check = await d.berth(['system', 'check']);
  assert.equal(check.code, 1, check.stdout);
  assert.match(check.stdout, /^snapshot build-0123456789abcdef01234567: writable snapshot owned by no container or build$/m);
  assert.doesNotMatch(check.stdout, new RegExp(kept), 'a created container owns its snapshot');
  const repair = await d.berth(['system', 'check', '--repair']);
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stdout, /^repaired: removed stray snapshot build-0123456789abcdef01234567$/m);
  assert.deepEqual(mountsUnder(stray), []);
  assert.deepEqual(mountsUnder(activeDir()), []);
  assert.equal(existsSync(stray), false);
  assert.match((await d.berth(['system', 'check'])).stdout, /No problems found/);
  // Images and containers are untouched.
  assert.equal((await d.berth(['start', '-a', kept])).stdout, 'kept\n');
  assert.equal((await d.berth(['run', '--rm', 'stage:1', 'cat', '/layer'])).stdout, 'layer\n');
  await d.berth(['rm', kept]);
});

test('a client that hangs up mid-RUN cancels the build: step killed, no container, snapshot or image left', async () => {
  const imagesBefore = await imageIds();
  const body = await makeTar({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 30 && echo finished > /finished\n' });
  const seen = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        socketPath: d.socket,
        method: 'POST',
        path: '/v1.43/build?t=cancelled:1',
        headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          // The step is running: hang up.
          if (text.includes('"stream":"started\\n"')) {
            req.destroy();
            resolve(text);
          }
        });
        res.on('end', () => reject(new Error(`build ended before the RUN step ran: ${text}`)));
      },
    );
    req.on('error', () => {});
    req.end(body);
  });
  assert.match(seen, /Running in [0-9a-f]{12}/);
  await until('the step container to go', async () => (await psAll()).length === 0);
  assert.deepEqual(mountsUnder(activeDir()), []);
  assert.deepEqual(readdirSync(activeDir()), []);
  assert.deepEqual(processesUnder(join(d.dir, 'exec', 'containers')), [], 'the step was killed');
  assert.deepEqual(await imageIds(), imagesBefore, 'no image was made');
  assert.notEqual((await d.berth(['image', 'inspect', 'cancelled:1'])).code, 0);
});

/** The VmHWM (peak resident set) of a process, in bytes. */
function peakRss(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kb) * 1024;
}

/** A gzip'd context tar of ~1 MB holding one file of `bytes` zeros, made without holding them. */
async function gzipBomb(bytes: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.on('end', r));
  const df = Buffer.from('FROM busybox\nLABEL bomb=1\n');
  gz.write(Buffer.concat([encodeHeader({ name: 'Dockerfile', type: 'file', mode: 0o644, mtime: 1, size: df.length }), df, Buffer.alloc(padding(df.length))]));
  gz.write(encodeHeader({ name: 'zeros', type: 'file', mode: 0o644, mtime: 1, size: bytes }));
  const zero = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= zero.length) {
    if (!gz.write(left >= zero.length ? zero : zero.subarray(0, left))) await new Promise((r) => gz.once('drain', r));
  }
  gz.end(Buffer.concat([Buffer.alloc(padding(bytes)), TAR_END]));
  await done;
  return Buffer.concat(out);
}

test('a gzip bomb context (1 MB that unpacks to 1 GiB) is refused past max-build-context-size, memory and spool untouched', async (t) => {
  const capped = new Daemon(tempDir(), ['--max-build-context-size', '768m']);
  try {
    await capped.start();
    const bomb = await gzipBomb(1024 ** 3);
    assert.ok(bomb.length < 2 << 20, `the bomb is small: ${bomb.length} bytes`);
    const before = peakRss(capped.proc!.pid!);
    const r = await http(capped.socket, 'POST', '/v1.43/build?t=bomb:1', bomb);
    assert.equal(r.status, 400, r.body);
    assert.deepEqual(JSON.parse(r.body), {
      message: "unable to prepare context: the build context is larger than the daemon's limit of 768MiB (max-build-context-size)",
    });
    const after = peakRss(capped.proc!.pid!);
    // It unpacked 768 MiB before refusing: a daemon holding that in memory would be far past this.
    assert.ok(after < 500 * 1024 ** 2, `berthd's peak RSS stayed low: ${before} -> ${after} bytes`);
    t.diagnostic(`berthd VmHWM ${Math.round(before / 2 ** 20)} MiB before the bomb, ${Math.round(after / 2 ** 20)} MiB after`);
    assert.deepEqual(readdirSync(spoolDir(capped)), [], 'the spooled context is removed');
    assert.equal((await capped.berth(['images', '-q', 'bomb:1'])).stdout, '');
  } finally {
    await capped.cleanup();
  }
});

test("a context with symlinks and hard links to the host's /etc copies no host file into the image", async () => {
  const evil = `berth-evil-${process.pid}`;
  const files = {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
    passwd: { type: 'symlink' as const, linkname: '/etc/passwd' },
    hostetc: { type: 'symlink' as const, linkname: '../../../../../etc' },
    out: { type: 'symlink' as const, linkname: '/tmp' },
    [`out/${evil}`]: 'written through a symlink\n',
  };
  const r = await http(d.socket, 'POST', '/v1.43/build?t=links:1', await makeTar(files));
  assert.equal(r.status, 200, r.body);
  assert.doesNotMatch(r.body, /errorDetail/, r.body);
  assert.equal(existsSync(join('/tmp', evil)), false, "nothing was written to the host through the context's symlink");
  const listing = await d.berth([
    'run',
    '--rm',
    'links:1',
    'sh',
    '-c',
    'cd /ctx && for f in passwd hostetc out; do echo "$f -> $(readlink $f)"; done; find . -type f | sort',
  ]);
  // The links are copied as links; the file written through one landed inside the context, where it points there.
  assert.equal(listing.stdout, `passwd -> /etc/passwd\nhostetc -> ../../../../../etc\nout -> /tmp\n./Dockerfile\n./tmp/${evil}\n`, listing.stderr);
  // Naming a link as a source follows it inside the context only: the host's files are never found.
  for (const src of ['passwd', 'hostetc/shadow', 'hostetc/passwd']) {
    const b = await http(d.socket, 'POST', '/v1.43/build', await makeTar({ ...files, Dockerfile: `FROM busybox\nCOPY ${src} /x\n` }));
    assert.match(b.body, new RegExp(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`), src);
  }
  // A hard link can only join two files of the context.
  const hard = await http(
    d.socket,
    'POST',
    '/v1.43/build',
    await makeTar({ Dockerfile: 'FROM busybox\nCOPY . /ctx/\n', shadow: { type: 'link', linkname: '/etc/shadow' } }),
  );
  assert.equal(hard.status, 400, hard.body);
  assert.match(JSON.parse(hard.body).message, /^unable to prepare context: invalid hard link "shadow" to "\/etc\/shadow": no such file in the context$/);
  assert.deepEqual(readdirSync(spoolDir(d)), []);
});
