/**
 * POST /build (the classic builder, API 1.41) and POST /build/prune: the
 * stream's messages, the `aux` ID, errors, what ends up in the image from
 * the context, and the docker CLI's `build -q`, `--iidfile`, `builder prune`.
 * Object names start with `ib-`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTar, tempDir } from '../../helpers.js';
import { scenario, type Answer, type Side } from '../harness.js';

const TAR = { 'Content-Type': 'application/x-tar' };

function build(s: Side, query: string, files: Parameters<typeof makeTar>[0]): Promise<Answer> {
  return makeTar(files).then((body) => s.api('POST', `/build?${query}`, { body, headers: TAR }));
}

/** The stream's messages, each kept as it came (its text, aux, error). */
function messages(a: Answer): unknown[] {
  return Array.isArray(a.json) ? a.json : [a.text];
}

/** What the stream said, concatenated: message boundaries follow the daemon's writes, not the contract. */
function streamText(a: Answer): string {
  return messages(a)
    .map((m) => (m as { stream?: string }).stream ?? '')
    .join('');
}

async function removeImage(s: Side, name: string): Promise<void> {
  await s.api('DELETE', `/images/${name}?force=1`);
}

scenario({
  endpoints: ['POST /build'],
  name: "build: a RUN step's stderr is wrapped in red as the classic builder wraps it",
  async run(s, rec) {
    const a = await build(s, 't=ib-stderr:1&rm=1', { Dockerfile: 'FROM busybox\nRUN echo to-stderr >&2\nRUN echo to-stdout\n' });
    rec.answer('build', a);
    rec.exact('messages', messages(a));
    await removeImage(s, 'ib-stderr:1');
  },
});

scenario({
  endpoints: ['POST /build'],
  name: 'build: stream, aux ID and the error message of a failing step',
  allow: [
    {
      at: /^config-only step containers$/,
      why: 'berthd commits a step that only changes the config (LABEL, ENV, …) without making an intermediate container: faster, and no container events for it',
    },
  ],
  async run(s, rec) {
    const ok = await build(s, 't=ib-aux:1', { Dockerfile: 'FROM busybox\nLABEL a=b\nENV X=1\n' });
    rec.answer('ok', ok);
    // dockerd makes (and removes) a container for a step that only changes the config; berthd does not.
    const nop = (m: unknown) => /^( ---> Running in |Removing intermediate container )/.test((m as { stream?: string }).stream ?? '');
    rec.exact(
      'ok messages',
      messages(ok).filter((m) => !nop(m)),
    );
    rec.exact('config-only step containers', messages(ok).filter(nop));
    const quiet = await build(s, 't=ib-aux:3&q=1', { Dockerfile: 'FROM busybox\nRUN true\n' });
    rec.answer('quiet', quiet);
    rec.exact('quiet messages', messages(quiet));
    const quietFail = await build(s, 't=ib-aux:4&q=1', { Dockerfile: 'FROM busybox\nRUN echo held; exit 2\n' });
    rec.exact('quiet fail messages', messages(quietFail));
    const fail = await build(s, 't=ib-aux:2', { Dockerfile: 'FROM busybox\nRUN exit 3\n' });
    rec.answer('fail', fail);
    const last = messages(fail).at(-1);
    rec.exact('fail last', last);
    rec.exact('fail text', streamText(fail));
    rec.answer('parse error', await build(s, '', { Dockerfile: 'FROM busybox\nNOPE x\n' }));
    rec.answer('no dockerfile', await build(s, 'dockerfile=Other', { Dockerfile: 'FROM busybox\n' }));
    rec.answer('no image', await build(s, '', { Dockerfile: 'FROM ib-no-such-image:1\n' }));
    rec.answer('bad tag', await build(s, 't=Bad:Tag', { Dockerfile: 'FROM busybox\n' }));
    await removeImage(s, 'ib-aux:1');
    await removeImage(s, 'ib-aux:3');
    // The failed step left its container; the runner removes containers after the scenario.
  },
});

scenario({
  endpoints: ['POST /build'],
  name: "build: a Dockerfile sent under a name of its own (docker-py's .dockerfile.<hex>) and the context as sent",
  async run(s, rec) {
    const name = '.dockerfile.0123456789abcdef0123';
    const a = await build(s, `t=ib-dfname:1&dockerfile=${name}`, {
      [name]: 'FROM busybox\nCOPY . /dst\nRUN ls -a /dst\n',
      'a.txt': 'a',
      '#file.txt': 'hash',
      '.dockerignore': '# a comment\n  b.txt  \n',
      'b.txt': 'b',
    });
    rec.answer('build', a);
    rec.exact('text', streamText(a));
    await removeImage(s, 'ib-dfname:1');
  },
});

scenario({
  endpoints: ['POST /build'],
  name: 'build: .dockerignore naming the Dockerfile and itself removes them; other files as the client sent them',
  async run(s, rec) {
    const a = await build(s, 't=ib-ignore:1', {
      Dockerfile: 'FROM busybox\nCOPY . /dst\nRUN ls -a /dst\n',
      '.dockerignore': 'Dockerfile\n.dockerignore\n*.txt\n',
      'a.txt': 'a',
      'c.md': 'c',
    });
    rec.answer('build', a);
    rec.exact('text', streamText(a));
    await removeImage(s, 'ib-ignore:1');
  },
});

/** A context directory on disk for the docker CLI. */
function contextDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tempDir('berth-diff-ib-'), 'ctx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

scenario({
  endpoints: ['POST /build'],
  name: "build through the docker CLI: .dockerignore with patternmatcher's rules",
  async run(s, rec) {
    const dir = contextDir({
      Dockerfile: 'FROM busybox\nCOPY . /dst\nRUN find /dst | sort\n',
      '.dockerignore':
        ['# comment line', '#file.txt', '  spaced.txt  ', 'sub/*', '! sub/keep.txt', '*.log', '!important.log', ' #lead.txt', '\\#esc.txt'].join('\n') + '\n',
      '#file.txt': 'x',
      '#lead.txt': 'x',
      '#esc.txt': 'x',
      'spaced.txt': 'x',
      'sub/keep.txt': 'x',
      'sub/drop.txt': 'x',
      'a.log': 'x',
      'important.log': 'x',
      'plain.txt': 'x',
    });
    try {
      const r = await s.docker(['build', '--rm', '-t', 'ib-cli-ignore:1', dir]);
      rec.cli('build', { ...r, stdout: r.stdout.replace(/Sending build context to Docker daemon\s+\S+/, 'Sending build context') });
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
      await removeImage(s, 'ib-cli-ignore:1');
    }
  },
});

scenario({
  endpoints: ['POST /build'],
  name: "build through the docker CLI with the Dockerfile on stdin: the CLI's .dockerfile.<random> does not reach the image",
  async run(s, rec) {
    const dir = contextDir({ 'a.txt': 'a' });
    try {
      const r = await s.docker(['build', '-q', '-t', 'ib-stdin:1', '-f', '-', dir], { input: 'FROM busybox\nCOPY . /dst\n' });
      rec.cli('build', r);
      const ls = await s.api('POST', '/containers/create?name=ib-stdin-ls', { body: { Image: 'ib-stdin:1', Cmd: ['ls', '-a', '/dst'] } });
      rec.answer('create', ls);
      await s.api('POST', '/containers/ib-stdin-ls/start');
      await s.api('POST', '/containers/ib-stdin-ls/wait');
      const logs = await s.api('GET', '/containers/ib-stdin-ls/logs?stdout=1');
      rec.exact('files', logs.body.subarray(8).toString());
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
      await s.api('DELETE', '/containers/ib-stdin-ls?force=1');
      await removeImage(s, 'ib-stdin:1');
    }
  },
});

scenario({
  endpoints: ['POST /build'],
  name: 'build -q prints the full ID; --iidfile holds exactly the ID',
  async run(s, rec) {
    const dir = contextDir({ Dockerfile: 'FROM busybox\nLABEL ib=quiet\n' });
    const iid = join(dir, '..', 'iid');
    try {
      const r = await s.docker(['build', '-q', '--iidfile', iid, '-t', 'ib-quiet:1', dir]);
      rec.cli('build -q', r);
      rec.exact('iidfile', readFileSync(iid, 'utf8'));
      rec.exact('same id', readFileSync(iid, 'utf8') === r.stdout.trim());
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
      await removeImage(s, 'ib-quiet:1');
    }
  },
});

scenario({
  endpoints: ['POST /build/prune'],
  name: 'build cache prune answers as dockerd; docker builder prune and system prune exit 0',
  async run(s, rec) {
    rec.answer('prune', await s.api('POST', '/build/prune'));
    rec.answer('prune all', await s.api('POST', '/build/prune?all=1&filters=%7B%22until%22%3A%5B%2224h%22%5D%7D'));
    rec.answer('prune bad filter', await s.api('POST', '/build/prune?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D'));
    rec.cli('builder prune', await s.docker(['builder', 'prune', '-f']));
    // Untagged images earlier scenarios left (dockerd 20.10 leaves some where Berth refuses first) go
    // beforehand, so system prune's output is about this scenario alone.
    await s.api('POST', '/images/prune');
    rec.cli('system prune', await s.docker(['system', 'prune', '-f']));
  },
});
