/**
 * Builds end to end: Dockerfiles built through `berth build` and through the
 * real docker CLI's classic builder against berthd, checked by running the
 * images and reading their config and history; the cache; commit and diff;
 * and the same Dockerfiles built by a real Docker for comparison.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Daemon, RealDockerd, startDaemon, importBusybox, tempDir, run, makeTar } from '../helpers.js';

let d: Daemon;
let work: string;
let server: Server;
let port = 0;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  work = tempDir('berth-build-');
  server = createServer((req, res) => {
    if (req.url === '/remote.txt') {
      res.writeHead(200, { 'Last-Modified': 'Wed, 01 Jan 2020 00:00:00 GMT' });
      res.end('from the web\n');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server?.close();
  await d?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** A context directory with these files. */
function ctx(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), v);
  }
  return dir;
}

const dockerBuild = (args: string[]) =>
  run('docker', ['build', ...args], { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(d.dir, 'docker-config') } });
const inspect = async (img: string) => JSON.parse((await d.berth(['image', 'inspect', img])).stdout)[0];
const runIn = async (img: string, script: string) => {
  const r = await d.berth(['run', '--rm', '-u', 'root', '--entrypoint', 'sh', img, '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

const COURSE = { Dockerfile: 'FROM busybox\nCOPY test /tmp/test\nRUN mkdir /tmp/testdir\n', test: 'course test file\n' };

test('the course example: COPY then RUN, one layer each, through berth', async () => {
  const dir = ctx('course', COURSE);
  const r = await d.berth(['build', '-t', 'mybusybox', dir]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^Sending build context to Docker daemon {2}\d/);
  assert.ok(lines.includes('Step 1/3 : FROM busybox'));
  assert.ok(lines.includes('Step 2/3 : COPY test /tmp/test'));
  assert.ok(lines.includes('Step 3/3 : RUN mkdir /tmp/testdir'));
  assert.ok(lines.some((l) => /^ ---> Running in [0-9a-f]{12}$/.test(l)));
  const built = /Successfully built ([0-9a-f]{12})/.exec(r.stdout)![1]!;
  assert.ok(lines.includes('Successfully tagged mybusybox:latest'));
  const img = await inspect('mybusybox');
  assert.ok(img.Id.startsWith(`sha256:${built}`));
  assert.equal(img.RootFS.Layers.length, 3);
  assert.equal(await runIn('mybusybox', 'cat /tmp/test; test -d /tmp/testdir && echo dir'), 'course test file\ndir\n');
  const h = await d.berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'mybusybox']);
  const rows = h.stdout.trim().split('\n');
  assert.equal(rows[0], '/bin/sh -c mkdir /tmp/testdir|0B');
  assert.match(rows[1]!, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/tmp\/test \|17B$/);
  // Every step's image is listed in history by its ID (classic builder parent chain).
  const ids = (await d.berth(['history', '-q', 'mybusybox'])).stdout.trim().split('\n');
  assert.ok(
    ids.every((x) => /^[0-9a-f]{12}$/.test(x)),
    ids.join(','),
  );
});

test('the real docker CLI (classic builder) builds against berthd', async () => {
  const dir = ctx('course-docker', COURSE);
  const r = await dockerBuild(['-t', 'viadocker:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Step 3\/3 : RUN mkdir \/tmp\/testdir\n ---> Using cache\n ---> [0-9a-f]{12}\nSuccessfully built [0-9a-f]{12}\nSuccessfully tagged viadocker:1\n/,
  );
  // Same context, same cache: berth's earlier build is reused step for step.
  assert.equal((r.stdout.match(/ ---> Using cache/g) ?? []).length, 2);
  assert.equal(await runIn('viadocker:1', 'cat /tmp/test'), 'course test file\n');
  const fresh = await dockerBuild(['--no-cache', '-t', 'viadocker:2', dir]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(
    fresh.stdout,
    /Step 3\/3 : RUN mkdir \/tmp\/testdir\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\nSuccessfully built [0-9a-f]{12}\nSuccessfully tagged viadocker:2\n/,
  );
});

test('cache: a rebuild uses the cache throughout; one changed file rebuilds from its COPY on', async () => {
  // The course's cache-ordering advice: what changes least goes first.
  const files = {
    Dockerfile:
      'FROM busybox\nENV PATH /usr/local/bin:$PATH\nRUN echo installing > /installed\nCOPY conf.txt /etc/conf.txt\nCOPY app/ /app/\nRUN cat /app/main.txt > /app/built\n',
    'conf.txt': 'conf',
    'app/main.txt': 'v1\n',
    'app/other.txt': 'other',
  };
  const dir = ctx('cache', files);
  const first = await d.berth(['build', '-t', 'cached', dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stdout, /Using cache/);
  const second = await d.berth(['build', '-t', 'cached', dir]);
  assert.equal((second.stdout.match(/ ---> Using cache/g) ?? []).length, 5, second.stdout);
  assert.doesNotMatch(second.stdout, /Running in/);
  // Touching a file without changing it keeps the cache (content hashes, not times).
  spawnSync('touch', ['-d', '2030-01-01', join(dir, 'app', 'other.txt')]);
  const touched = await d.berth(['build', '-t', 'cached', dir]);
  assert.equal((touched.stdout.match(/ ---> Using cache/g) ?? []).length, 5, touched.stdout);
  writeFileSync(join(dir, 'app', 'main.txt'), 'v2\n');
  const third = await d.berth(['build', '-t', 'cached', dir]);
  const steps = third.stdout.split(/(?=Step \d)/).filter((s) => s.startsWith('Step'));
  assert.deepEqual(
    steps.map((s) => s.includes('Using cache')),
    [false, true, true, true, false, false],
  );
  assert.equal(await runIn('cached', 'cat /app/built'), 'v2\n');
  // --no-cache does all the work again.
  const nc = await d.berth(['build', '--no-cache', '-t', 'cached', dir]);
  assert.doesNotMatch(nc.stdout, /Using cache/);
});

test('the cache survives a daemon restart', async () => {
  await d.stop();
  await d.start();
  const dir = ctx('course', COURSE);
  const r = await d.berth(['build', '-t', 'mybusybox', dir]);
  assert.equal((r.stdout.match(/ ---> Using cache/g) ?? []).length, 2, r.stdout);
});

test('every instruction: config, history and filesystem', async () => {
  const tgz = gzipSync(await makeTar({ 'inner/file.txt': 'unpacked\n' }));
  const dir = ctx('all', {
    Dockerfile:
      [
        'ARG BASE=busybox',
        'FROM ${BASE}',
        'LABEL maintainer="someone" version=1.0',
        'MAINTAINER Jane Doe',
        'ARG GREETING=hello',
        'ENV APP_HOME=/srv/app',
        'ENV LEGACY legacy value',
        'WORKDIR $APP_HOME',
        'WORKDIR sub',
        'COPY --chown=daemon:daemon a.txt b.txt ./',
        'COPY --chmod=700 script.sh /usr/local/bin/',
        'COPY dir/ /data/',
        'ADD archive.tar.gz /unpacked/',
        `ADD http://127.0.0.1:${port}/remote.txt /web/`,
        'COPY <<EOF /heredoc.txt',
        'written by ${GREETING}',
        'EOF',
        'RUN <<EOT',
        'echo "$GREETING from heredoc" > /run.txt',
        'EOT',
        'RUN ["sh", "-c", "echo exec form >> /run.txt"]',
        'SHELL ["/bin/sh", "-c"]',
        'USER daemon',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/vol"]',
        'STOPSIGNAL SIGUSR1',
        'HEALTHCHECK --interval=5s --retries=3 CMD true',
        'ONBUILD RUN echo triggered > /tmp/onbuild.txt',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo default"]',
      ].join('\n') + '\n',
    'a.txt': 'A',
    'b.txt': 'B',
    'script.sh': '#!/bin/sh\necho hi\n',
    'dir/x/y.txt': 'Y',
    'archive.tar.gz': tgz,
  });
  const r = await d.berth(['build', '--build-arg', 'GREETING=hi', '--label', 'extra=yes', '-t', 'all', dir]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const img = await inspect('all');
  const c = img.Config;
  assert.ok(c.Env.includes('APP_HOME=/srv/app'));
  assert.ok(c.Env.includes('LEGACY=legacy value'));
  assert.equal(c.WorkingDir, '/srv/app/sub');
  assert.equal(c.User, 'daemon');
  assert.deepEqual(c.Labels, { maintainer: 'someone', version: '1.0', extra: 'yes' });
  assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/vol': {} });
  assert.equal(c.StopSignal, 'SIGUSR1');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 3 });
  assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/onbuild.txt']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Cmd, ['echo default']);
  assert.equal(img.Author, 'Jane Doe');
  const out = await runIn(
    'all',
    [
      'stat -c "%n %u:%g %a" /srv/app/sub/a.txt /srv/app/sub/b.txt /usr/local/bin/script.sh /web/remote.txt',
      'cat /data/x/y.txt /unpacked/inner/file.txt /web/remote.txt /heredoc.txt /run.txt',
    ].join('; '),
  );
  assert.equal(
    out,
    [
      '/srv/app/sub/a.txt 1:1 644',
      '/srv/app/sub/b.txt 1:1 644',
      '/usr/local/bin/script.sh 0:0 700',
      '/web/remote.txt 0:0 600',
      'Yunpacked',
      'from the web',
      'written by hi',
      'hi from heredoc',
      'exec form',
      '',
    ].join('\n'),
  );
  assert.equal((await d.berth(['run', '--rm', 'all'])).stdout, 'default\n');
  const hist = (await d.berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'all'])).stdout;
  assert.match(hist, /\|1 GREETING=hi \/bin\/sh -c echo "\$GREETING from heredoc" > \/run.txt/);
  assert.match(hist, /#\(nop\) {2}ENV LEGACY=legacy value/);
  assert.match(hist, /#\(nop\) COPY --chown=daemon:daemon multi:[0-9a-f]{64} in \.\/ /);
  // ONBUILD triggers run in the child build, and are not inherited further.
  const child = ctx('child', { Dockerfile: 'FROM all\nUSER root\nRUN cat /tmp/onbuild.txt\n' });
  const cr = await d.berth(['build', '-t', 'child', child]);
  assert.equal(cr.code, 0, cr.stdout + cr.stderr);
  assert.match(cr.stdout, /# Executing 1 build trigger\n/);
  assert.match(cr.stdout, /\ntriggered\n/);
  assert.equal(((await inspect('child')).Config.OnBuild ?? []).length, 0);
});

test('failing builds: Docker’s messages and exit codes, and no tag left behind', async () => {
  const fail = ctx('fail', { Dockerfile: 'FROM busybox\nRUN echo about to fail; exit 3\n' });
  const r = await d.berth(['build', '-t', 'failed', fail]);
  assert.equal(r.code, 3);
  assert.match(r.stdout, /about to fail\n/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo about to fail; exit 3' returned a non-zero code: 3/);
  assert.equal((await d.berth(['images', '-q', 'failed'])).stdout, '');
  const viaDocker = await dockerBuild(['-t', 'failed', fail]);
  assert.equal(viaDocker.code, 3);
  assert.match(viaDocker.stderr, /returned a non-zero code: 3/);
  const bad = ctx('bad', { Dockerfile: 'FROM busybox\nRUN true\nFOO bar\n' });
  const b = await d.berth(['build', bad]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /dockerfile parse error line 3: unknown instruction: FOO/);
  const missing = ctx('missing', { Dockerfile: 'FROM busybox\nCOPY x /x\n', '.dockerignore': 'x\n', x: 'ignored' });
  const m = await dockerBuild([missing]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat x: file does not exist/);
});

test('.dockerignore: excluded files never reach the image, exceptions do', async () => {
  const dir = ctx('ignore', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
    '.dockerignore': '*.log\n!keep.log\nsecret/\n**/tmp\n',
    'a.log': 'x',
    'keep.log': 'k',
    'secret/key': 's',
    'src/tmp/junk': 'j',
    'src/main.c': 'm',
  });
  for (const b of [(a: string[]) => d.berth(a), (a: string[]) => dockerBuild(a.slice(1))]) {
    const r = await b(['build', '-t', 'ignored', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await runIn('ignored', 'cd /ctx && find . -type f | sort'), './.dockerignore\n./Dockerfile\n./keep.log\n./src/main.c\n');
  }
});

test('multi-stage: --target builds only what it needs; COPY --from a stage', async () => {
  const dir = ctx('multi', {
    Dockerfile:
      [
        'FROM busybox AS unused',
        'RUN echo never',
        'FROM busybox AS builder',
        'RUN echo built > /artifact',
        'FROM busybox AS other',
        'RUN echo other > /other',
        'FROM busybox AS final',
        'COPY --from=builder /artifact /artifact',
        'COPY --from=2 /other /other',
        'FROM busybox AS later',
        'RUN echo later',
      ].join('\n') + '\n',
  });
  const r = await d.berth(['build', '--target', 'final', '-t', 'multi', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /echo never|echo later/);
  assert.equal(await runIn('multi', 'cat /artifact /other'), 'built\nother\n');
  const bad = await d.berth(['build', '--target', 'nosuch', dir]);
  assert.match(bad.stderr, /failed to reach build target nosuch in Dockerfile/);
});

test("COPY and ADD follow Docker's untar rules: a .wh. name is an ordinary file, not a whiteout", async () => {
  const dir = ctx('whname', {
    Dockerfile: 'FROM busybox\nRUN mkdir /d && echo lower > /d/keep\nCOPY .wh.keep /d/\nCOPY . /ctx/\n',
    '.wh.keep': 'not a whiteout\n',
    'sub/.wh.keep': 'nested\n',
  });
  const r = await d.berth(['build', '-t', 'whname', dir]);
  assert.equal(r.code, 0, r.stderr);
  // The file named .wh.keep is in the image, and the file it would have whited out is still there.
  assert.equal(await runIn('whname', 'cat /d/.wh.keep /d/keep /ctx/.wh.keep /ctx/sub/.wh.keep'), 'not a whiteout\nlower\nnot a whiteout\nnested\n');
});

test('context from stdin: a Dockerfile alone, or a tar', async () => {
  const r = await d.berth(['build', '-t', 'stdin', '-'], { input: 'FROM busybox\nRUN echo from stdin > /s\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runIn('stdin', 'cat /s'), 'from stdin\n');
  const tar = await makeTar({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'tarred' });
  const t = await d.berth(['build', '-t', 'stdintar', '-'], { input: tar });
  assert.equal(t.code, 0, t.stderr);
  assert.equal(await runIn('stdintar', 'cat /f'), 'tarred');
});

test('context from a git repository (git daemon on loopback), by CLI and by the remote parameter', async () => {
  const repo = join(work, 'repos', 'proj.git');
  const src = ctx('gitsrc', { Dockerfile: 'FROM busybox\nCOPY hello /hello\n', hello: 'from git\n' });
  const git = (args: string[], cwd: string) =>
    spawnSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
    });
  git(['init', '-q', '-b', 'main'], src);
  git(['add', '.'], src);
  git(['commit', '-qm', 'x'], src);
  mkdirSync(join(work, 'repos'), { recursive: true });
  git(['clone', '-q', '--bare', src, repo], work);
  const gport = 20000 + Math.floor(Math.random() * 20000);
  const gd: ChildProcess = spawn(
    'git',
    ['daemon', '--reuseaddr', '--export-all', '--listen=127.0.0.1', `--port=${gport}`, `--base-path=${join(work, 'repos')}`, join(work, 'repos')],
    { stdio: 'ignore' },
  );
  try {
    const url = `git://127.0.0.1:${gport}/proj.git`;
    let r;
    for (let i = 0; i < 50; i++) {
      r = await d.berth(['build', '-t', 'fromgit', url]);
      if (r.code === 0 || !/unable to 'git clone'/.test(r.stderr)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(r!.code, 0, r!.stderr);
    assert.equal(await runIn('fromgit', 'cat /hello'), 'from git\n');
    const { http } = await import('../helpers.js');
    const api = await http(d.socket, 'POST', `/build?t=remotegit&remote=${encodeURIComponent(url + '#main')}`);
    assert.equal(api.status, 200, api.body);
    assert.match(api.body, /Successfully tagged remotegit:latest/);
  } finally {
    gd.kill();
  }
});

test('commit busybox busybox:hello (the course) and diff, through berth and docker', async () => {
  const start = await d.berth([
    'run',
    '-d',
    '--name',
    'busybox',
    'busybox',
    'sh',
    '-c',
    'touch hello.txt && echo "I love Docker. " > hello.txt; rm /etc/group; mkdir /tmp/new; sleep 300',
  ]);
  assert.equal(start.code, 0, start.stderr);
  for (let i = 0; i < 100; i++) {
    if ((await d.berth(['diff', 'busybox'])).stdout.includes('/tmp/new')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const diff = await d.berth(['diff', 'busybox']);
  assert.equal(diff.stdout, 'C /etc\nD /etc/group\nA /hello.txt\nC /tmp\nA /tmp/new\n');
  assert.equal((await d.docker(['diff', 'busybox'])).stdout, diff.stdout);
  const c = await d.berth(['commit', 'busybox', 'busybox:hello']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/);
  // The container was paused for the commit and runs on.
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'busybox'])).stdout, 'running\n');
  assert.equal(await runIn('busybox:hello', 'cat /hello.txt; test -e /etc/group || echo gone'), 'I love Docker. \ngone\n');
  const ls = await d.berth(['image', 'ls', 'busybox']);
  assert.match(ls.stdout, /busybox\s+hello\s/);
  const dc = await d.docker([
    'commit',
    '-a',
    'me <me@x>',
    '-m',
    'a message',
    '-c',
    'ENV FROM_COMMIT=1',
    '-c',
    'CMD ["cat", "/hello.txt"]',
    'busybox',
    'busybox:hello2',
  ]);
  assert.equal(dc.code, 0, dc.stderr);
  const img = await inspect('busybox:hello2');
  assert.equal(img.Author, 'me <me@x>');
  assert.equal(img.Comment, 'a message');
  assert.ok(img.Config.Env.includes('FROM_COMMIT=1'));
  assert.equal((await d.berth(['run', '--rm', 'busybox:hello2'])).stdout, 'I love Docker. \n');
  await d.berth(['rm', '-f', 'busybox']);
});

test('the same Dockerfiles on a real Docker give the same files, configs and history', async () => {
  const real = new RealDockerd(tempDir('berth-build-dockerd-'));
  try {
    await real.start();
    const archive = join(work, 'busybox.tar');
    assert.equal((await d.berth(['save', '-o', archive, 'busybox'])).code, 0);
    assert.equal((await real.docker(['load', '-i', archive])).code, 0);
    const dir = ctx('diff', {
      Dockerfile:
        [
          'FROM busybox',
          'ARG V=1',
          'ENV A=1 B="two words"',
          'LABEL k=v',
          'WORKDIR /srv/app',
          'COPY test ./',
          'COPY dir /data/',
          'RUN mkdir -p /tmp/testdir && echo $V > /tmp/testdir/v && chmod 600 /tmp/testdir/v && rm /etc/hosts.tmp 2>/dev/null; true',
          'RUN ln -s /tmp/testdir/v /link && rm -r /var/www',
          'USER daemon',
          'EXPOSE 80',
          'VOLUME /vol',
          'ENTRYPOINT ["sh"]',
          'CMD ["-c", "echo hi"]',
        ].join('\n') + '\n',
      test: 'course test file\n',
      'dir/a/b.txt': 'b',
      'dir/c.txt': 'c',
    });
    const ours = await dockerBuild(['-t', 'cmp', dir]);
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = await real.docker(['build', '-t', 'cmp', dir]);
    assert.equal(theirs.code, 0, theirs.stderr);
    const keys =
      '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{len .RootFS.Layers}}';
    const cfgOurs = (await d.docker(['image', 'inspect', '-f', keys, 'cmp'])).stdout;
    const cfgTheirs = (await real.docker(['image', 'inspect', '-f', keys, 'cmp'])).stdout;
    assert.equal(cfgOurs, cfgTheirs);
    const hist = '{{.CreatedBy}}|{{.Size}}';
    const norm = (s: string) => s.replace(/(file|dir|multi):[0-9a-f]{64}/g, '$1:HASH');
    assert.equal(
      norm((await d.docker(['history', '--no-trunc', '--format', hist, 'cmp'])).stdout),
      norm((await real.docker(['history', '--no-trunc', '--format', hist, 'cmp'])).stdout),
    );
    const tree = 'find /srv /data /tmp /link /var -xdev | sort | while read f; do stat -c "%n %F %a %u:%g %s" "$f"; done';
    const treeOurs = await d.docker(['run', '--rm', '--entrypoint', 'sh', 'cmp', '-c', tree]);
    const treeTheirs = await real.docker(['run', '--rm', '--entrypoint', 'sh', 'cmp', '-c', tree]);
    assert.equal(treeTheirs.code, 0, treeTheirs.stderr);
    assert.equal(treeOurs.stdout, treeTheirs.stdout);
  } finally {
    await real.cleanup();
  }
});
