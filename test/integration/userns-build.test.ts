/**
 * `docker build` on a `--userns-remap default` berthd: a RUN step runs as
 * the remapped uid on the host (seen in /proc/<pid>/status while it sleeps),
 * yet the image it makes holds the container's own ids — the same layers,
 * byte for byte, as an unremapped berthd builds from the same context, and a
 * rebuild is all cache hits. COPY --chown still gives the owners asked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, importBusybox, run, tempDir, type RunResult } from '../helpers.js';

const MARKER = 'berth-userns-build-marker';
let remapped: Daemon;
let plain: Daemon;
let ctx: string;
let start: number;

function subStart(file: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('berthremap:'));
  assert.ok(line, `berthremap has a range in ${file}`);
  return Number(line.split(':')[1]);
}

function build(d: Daemon, args: string[]): Promise<RunResult> {
  return run('docker', ['build', ...args], { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(d.dir, 'docker-config') } });
}

async function ok(p: Promise<RunResult>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return r.stdout;
}

/** The Uid: line of every process whose command line holds `marker`: real, effective, saved, filesystem. */
function uidsOfMarked(marker: string): number[][] {
  const out: number[][] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const line = readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Uid:'))!;
      out.push(line.split(/\s+/).slice(1, 5).map(Number));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

// Every time in the layers is fixed (the context's files, and what RUN touches), so the two daemons' layers can be equal.
const DOCKERFILE = `FROM busybox
COPY --chown=1234:5678 owned /owned
COPY plain /plain
RUN id -u > /uid && touch /f && ln /f /f2 && touch /g && chown 1234:5678 /g && mkdir /d && chown 4321 /d \\
 && rm /bin/yes && touch -d '2001-02-03 04:05:06' /uid /f /g /d /bin
RUN for i in 1 2 3 4 5 6 7 8; do sleep 1; done; : ${MARKER}
`;

before(async () => {
  const dir = tempDir('berth-userns-build-');
  // The remapped root must pass through the directories above the data root (berthd checks, as dockerd).
  chmodSync(dir, 0o711);
  remapped = new Daemon(dir, ['--userns-remap', 'default']);
  plain = new Daemon(tempDir('berth-userns-build-plain-'));
  await Promise.all([remapped.start(), plain.start()]);
  await Promise.all([importBusybox(remapped), importBusybox(plain)]);
  start = subStart('/etc/subuid');
  ctx = tempDir('berth-userns-build-ctx-');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'owned'), 'owned\n');
  writeFileSync(join(ctx, 'plain'), 'plain\n');
  for (const f of ['owned', 'plain', 'Dockerfile']) utimesSync(join(ctx, f), 981173106, 981173106);
});

after(async () => {
  for (const d of [remapped, plain]) {
    if (!d) continue;
    await d.removeContainers();
    await d.stop();
  }
  // The idmapped views of layers stay mounted across restarts, as container overlays do: take them down.
  const r = join(remapped.dataRoot, 'snapshots', 'overlay2', 'r');
  for (const k of readdirSync(r, { withFileTypes: true }).filter((e) => e.isDirectory()))
    for (const n of readdirSync(join(r, k.name))) await run('umount', ['-l', join(r, k.name, n)]);
  await Promise.all([remapped.cleanup(), plain.cleanup()]);
  await run('rm', ['-rf', ctx]);
});

test('a RUN step runs as the remapped uid; its image holds the container ids, the same layers as unremapped', async () => {
  const building = build(remapped, ['-t', 'ub', ctx]);
  let seen: number[][] = [];
  for (let i = 0; i < 300 && seen.length === 0; i++) {
    seen = uidsOfMarked(MARKER);
    if (seen.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(seen.length > 0, 'the sleeping RUN step was seen on the host');
  for (const uids of seen) assert.deepEqual(uids, [start, start, start, start], 'the RUN step is the remapped root on the host');
  await ok(building);

  const inside =
    'cat /uid; stat -c "%u:%g %n" /owned /plain /uid /f /f2 /g /d; [ "$(stat -c %i /f)" = "$(stat -c %i /f2)" ] && echo linked; ls /bin/yes || echo yes-gone';
  const want = ['0', '1234:5678 /owned', '0:0 /plain', '0:0 /uid', '0:0 /f', '0:0 /f2', '1234:5678 /g', '4321:0 /d', 'linked', 'yes-gone'];
  // Inside a remapped container (its idmapped view of the layers) and an unremapped one: the container's ids both times.
  assert.deepEqual((await ok(remapped.docker(['run', '--rm', 'ub', 'sh', '-c', inside]))).trim().split('\n'), want);
  assert.deepEqual((await ok(remapped.docker(['run', '--rm', '--userns=host', 'ub', 'sh', '-c', inside]))).trim().split('\n'), want);

  await ok(build(plain, ['-t', 'ub', ctx]));
  assert.deepEqual((await ok(plain.docker(['run', '--rm', 'ub', 'sh', '-c', inside]))).trim().split('\n'), want);
  const layers = async (d: Daemon) => JSON.parse(await ok(d.docker(['inspect', '-f', '{{json .RootFS.Layers}}', 'ub']))) as string[];
  const [rl, pl] = await Promise.all([layers(remapped), layers(plain)]);
  assert.equal(rl.length, 4, 'busybox, two COPYs and the RUN that changed files');
  assert.deepEqual(rl, pl, 'remapped and unremapped builds give the same layers');

  // A rebuild on the remapped daemon is the same image, every step from the cache.
  const id = (await ok(remapped.docker(['inspect', '-f', '{{.Id}}', 'ub']))).trim();
  const again = await ok(build(remapped, ['-t', 'ub', ctx]));
  assert.equal(again.match(/Using cache/g)?.length, 4, again);
  assert.equal((await ok(remapped.docker(['inspect', '-f', '{{.Id}}', 'ub']))).trim(), id);
});

test('berth build on the remapped daemon gives the same layers too', async () => {
  const out = await ok(remapped.berth(['build', '--no-cache', '-t', 'ub2', ctx]));
  assert.match(out, /Successfully tagged ub2:latest/);
  const a = await ok(remapped.docker(['inspect', '-f', '{{json .RootFS.Layers}}', 'ub2']));
  const b = await ok(plain.docker(['inspect', '-f', '{{json .RootFS.Layers}}', 'ub']));
  assert.equal(a, b);
});

test('hostile: a remapped build cannot ask for the host network; it may not chown to an id outside the mapping', async () => {
  const bad = join(ctx, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nRUN true\n');
  const net = await build(remapped, ['--network', 'host', bad]);
  assert.notEqual(net.code, 0);
  assert.match(net.stderr + net.stdout, /cannot share the host's network namespace when user namespaces are enabled/);
  // Root in the step is root of 65536 ids only: a chown past them fails, as in any remapped container.
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nRUN touch /x && chown 70000 /x\n');
  const far = await build(remapped, [bad]);
  assert.notEqual(far.code, 0);
  assert.match(far.stderr + far.stdout, /chown: \/x: Invalid argument|returned a non-zero code: 1/);
  // The plain daemon takes both.
  await ok(build(plain, [bad]));
});

test('docker commit and diff of a remapped container: the container ids, its deletions as whiteouts', async () => {
  const id = (await ok(remapped.docker(['run', '-d', 'busybox', 'sh', '-c', 'touch /c && chown 1234:5678 /c && rm /bin/yes && sleep 60']))).trim();
  // The script is done with the files once /bin/yes is gone.
  for (let i = 0; i < 100 && (await remapped.docker(['exec', id, 'test', '!', '-e', '/bin/yes'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual((await ok(remapped.docker(['diff', id]))).trim().split('\n'), ['C /bin', 'D /bin/yes', 'A /c']);
  await ok(remapped.docker(['commit', id, 'committed']));
  const inside = 'stat -c "%u:%g %n" /c; ls /bin/yes 2>/dev/null || echo yes-gone';
  assert.deepEqual((await ok(remapped.docker(['run', '--rm', '--userns=host', 'committed', 'sh', '-c', inside]))).trim().split('\n'), [
    '1234:5678 /c',
    'yes-gone',
  ]);
  await ok(remapped.docker(['rm', '-f', id]));
});
