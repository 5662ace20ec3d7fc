/** Builder, commit and diff end to end through berth and the real docker CLI (classic builder). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, startDaemon, importBusybox } from '../helpers.js';

let d: Daemon;
let work: string;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  work = mkdtempSync(join(tmpdir(), 'berth-build-'));
});
after(async () => { await d.cleanup(); rmSync(work, { recursive: true, force: true }); });

function ctx(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [p, c] of Object.entries(files)) { mkdirSync(join(dir, p, '..'), { recursive: true }); writeFileSync(join(dir, p), c); }
  return dir;
}
const dockerBuild = (args: string[]) => d.docker(['build', ...args]).then((r) => r);
process.env.DOCKER_BUILDKIT = '0';

test('course example: COPY test /tmp/test then RUN mkdir, through berth', async () => {
  const dir = ctx('course', { Dockerfile: 'FROM busybox\nCOPY test /tmp/test\nRUN mkdir /tmp/testdir\n', test: 'hello\n' });
  const r = await d.berth(['build', '-t', 'course:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 1\/3 : FROM busybox\n ---> [a-f0-9]{12}\n/);
  assert.match(r.stdout, /Step 2\/3 : COPY test \/tmp\/test\n ---> [a-f0-9]{12}\n/);
  assert.match(r.stdout, /Step 3\/3 : RUN mkdir \/tmp\/testdir\n ---> Running in [a-f0-9]{12}\nRemoving intermediate container [a-f0-9]{12}\n ---> [a-f0-9]{12}\n/);
  assert.match(r.stdout, /Successfully built [a-f0-9]{12}\nSuccessfully tagged course:1\n/);
  const run = await d.berth(['run', '--rm', 'course:1', 'sh', '-c', 'cat /tmp/test; test -d /tmp/testdir && echo dir']);
  assert.equal(run.stdout, 'hello\ndir\n', run.stderr);
  const h = await d.berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'course:1']);
  const lines = h.stdout.trim().split('\n');
  assert.equal(lines[0], '/bin/sh -c mkdir /tmp/testdir');
  assert.match(lines[1], /^\/bin\/sh -c #\(nop\) COPY file:[a-f0-9]{64} in \/tmp\/test ?$/);
  // A rebuild is all cache.
  const again = await d.berth(['build', '-t', 'course:1', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stdout.match(/ ---> Using cache/g) ?? []).length, 2, again.stdout);
  // One changed file rebuilds from its step on.
  writeFileSync(join(dir, 'test'), 'changed\n');
  const changed = await d.berth(['build', '-t', 'course:1', dir]);
  assert.doesNotMatch(changed.stdout, /Using cache/);
  assert.equal((await d.berth(['run', '--rm', 'course:1', 'cat', '/tmp/test'])).stdout, 'changed\n');
});

test('the docker CLI (classic builder) builds against berthd and sees the cache', async () => {
  const dir = ctx('dockercli', { Dockerfile: 'FROM busybox\nCOPY test /tmp/test\nRUN mkdir /tmp/testdir\n', test: 'hi\n' });
  const r = await dockerBuild(['-t', 'viadocker:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Step 3\/3 : RUN mkdir \/tmp\/testdir/);
  assert.match(r.stdout, /Successfully tagged viadocker:1/);
  const again = await dockerBuild(['-t', 'viadocker:1', dir]);
  assert.match(again.stdout, /Using cache/);
  const run = await d.docker(['run', '--rm', 'viadocker:1', 'cat', '/tmp/test']);
  assert.equal(run.stdout, 'hi\n');
});

test('config instructions, ARG/ENV substitution, WORKDIR, USER, ONBUILD, heredoc', async () => {
  const df = [
    'ARG BASE=busybox',
    'FROM $BASE AS base',
    'ARG NAME=world',
    'ENV GREETING="hello ${NAME}" OTHER=${UNSET:-dflt}',
    'LABEL a=b "c d"=e',
    'EXPOSE 80 53/udp',
    'VOLUME /data',
    'WORKDIR /app',
    'WORKDIR sub',
    'RUN echo "$GREETING" > g.txt && pwd > where.txt',
    'COPY --chown=nobody:nogroup --chmod=640 f.txt ./',
    'RUN <<EOF',
    'echo from-heredoc > /h.txt',
    'EOF',
    'STOPSIGNAL SIGTERM',
    'HEALTHCHECK --interval=5s CMD true',
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["cat /app/sub/g.txt"]',
    'ONBUILD RUN echo triggered > /tmp/trig',
    'USER nobody',
  ].join('\n');
  const dir = ctx('many', { Dockerfile: df, 'f.txt': 'f\n' });
  const r = await d.berth(['build', '--build-arg', 'NAME=berth', '-t', 'many:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const run = await d.berth(['run', '--rm', 'many:1']);
  assert.equal(run.stdout, 'hello berth\n', run.stderr);
  const files = await d.berth(['run', '--rm', '--user', '0', 'many:1', 'cat /app/sub/where.txt /h.txt; stat -c "%U %a" /app/sub/f.txt']);
  assert.equal(files.stdout, '/app/sub\nfrom-heredoc\nnobody 640\n', files.stderr);
  const cfg = JSON.parse((await d.docker(['inspect', '--format', '{{json .Config}}', 'many:1'])).stdout);
  assert.ok(cfg.Env.includes('GREETING=hello berth'));
  assert.ok(cfg.Env.includes('OTHER=dflt'));
  assert.deepEqual(cfg.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(Object.keys(cfg.ExposedPorts).sort(), ['53/udp', '80/tcp']);
  assert.deepEqual(cfg.Volumes, { '/data': {} });
  assert.equal(cfg.WorkingDir, '/app/sub');
  assert.equal(cfg.User, 'nobody');
  assert.equal(cfg.StopSignal, 'SIGTERM');
  assert.deepEqual(cfg.Healthcheck.Test, ['CMD-SHELL', 'true']);
  assert.deepEqual(cfg.OnBuild, ['RUN echo triggered > /tmp/trig']);
  // The child build runs the trigger.
  const child = ctx('child', { Dockerfile: 'FROM many:1\nUSER 0\n' });
  const c = await d.berth(['build', '-t', 'child:1', child]);
  assert.equal(c.code, 0, c.stderr + c.stdout);
  assert.match(c.stdout, /# Executing 1 build trigger/);
  assert.equal((await d.berth(['run', '--rm', 'child:1', 'cat /tmp/trig'])).stdout, 'triggered\n');
});

test('multi-stage with --target and COPY --from; .dockerignore', async () => {
  const dir = ctx('multi', {
    Dockerfile: 'FROM busybox AS a\nRUN echo a > /a\nFROM busybox AS b\nRUN echo b > /b\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=1 /b /b\nCOPY . /ctx/\n',
    '.dockerignore': '*.log\n!keep.log\nsecret/\n', 'x.log': 'no', 'keep.log': 'yes', 'secret/k': 'no', 'ok.txt': 'ok',
  });
  const r = await d.berth(['build', '-q', '-t', 'multi:1', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const ls = await d.berth(['run', '--rm', 'multi:1', 'sh', '-c', 'cat /a /b; ls /ctx']);
  assert.equal(ls.stdout, 'a\nb\nDockerfile\nkeep.log\nok.txt\n', ls.stderr);
  const t = await d.berth(['build', '--target', 'a', '-t', 'multi:a', dir]);
  assert.equal(t.code, 0, t.stderr);
  assert.doesNotMatch(t.stdout, /echo b/);
});

test('a failing RUN shows its output and code and leaves no tag; a missing COPY source', async () => {
  const dir = ctx('fail', { Dockerfile: 'FROM busybox\nRUN echo before-fail && exit 3\n' });
  const r = await d.berth(['build', '-t', 'fail:1', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /before-fail/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo before-fail && exit 3' returned a non-zero code: 3/);
  assert.notEqual((await d.berth(['image', 'inspect', 'fail:1'])).code, 0);
  const dd = await dockerBuild(['-t', 'fail:1', dir]);
  assert.notEqual(dd.code, 0);
  assert.match(dd.stderr + dd.stdout, /returned a non-zero code: 3/);
  const m = ctx('missing', { Dockerfile: 'FROM busybox\nCOPY x /x\n' });
  const mr = await d.berth(['build', m]);
  assert.equal(mr.code, 1);
  assert.match(mr.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat x: file does not exist/);
  const bad = ctx('bad', { Dockerfile: 'FROM busybox\n\nFOO bar\n' });
  const br = await d.berth(['build', bad]);
  assert.match(br.stderr, /dockerfile parse error on line 3: unknown instruction: FOO/);
});

test('commit busybox busybox:hello (the course) and diff, through berth and docker', async () => {
  const run = await d.berth(['run', '-d', '--name', 'busybox', 'busybox', 'sh', '-c', 'touch hello.txt && echo "I love Docker. " > hello.txt && rm -f /etc/hostname.none; sleep 300']);
  assert.equal(run.code, 0, run.stderr);
  for (let i = 0; i < 100; i++) { if ((await d.berth(['exec', 'busybox', 'cat', '/hello.txt'])).stdout) break; await new Promise((r) => setTimeout(r, 100)); }
  const diff = await d.berth(['diff', 'busybox']);
  assert.match(diff.stdout, /^A \/hello\.txt$/m);
  const ddiff = await d.docker(['diff', 'busybox']);
  assert.match(ddiff.stdout, /^A \/hello\.txt$/m);
  const c = await d.berth(['commit', 'busybox', 'busybox:hello']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[a-f0-9]{64}\n$/);
  assert.equal((await d.berth(['run', '--rm', 'busybox:hello', 'cat', '/hello.txt'])).stdout, 'I love Docker. \n');
  const c2 = await d.docker(['commit', '-a', 'me', '-m', 'msg', '-c', 'ENV X=1', 'busybox', 'busybox:hello2']);
  assert.equal(c2.code, 0, c2.stderr);
  const insp = JSON.parse((await d.docker(['inspect', 'busybox:hello2'])).stdout)[0];
  assert.equal(insp.Author, 'me');
  assert.equal(insp.Comment, 'msg');
  assert.ok(insp.Config.Env.includes('X=1'));
  await d.berth(['rm', '-f', 'busybox']);
});
