/** Dockerfile parsing, variable substitution and .dockerignore matching. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseKeyValues } from '../../src/dockerfile/parser.js';
import { processWord, processWords } from '../../src/dockerfile/shell-lex.js';
import { isIgnored, parseDockerignore } from '../../src/dockerfile/dockerignore.js';
import { BuildContext } from '../../src/dockerfile/context.js';
import { unpackContext } from '../../src/dockerfile/unpack.js';
import { encodeHeader, padding, TAR_END } from '../../src/archive/tar-writer.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

test('instructions, continuations, comments and forms', () => {
  const df = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      '# escape=\\',
      '',
      'from busybox AS base',
      'RUN echo a && \\',
      '    # a comment inside',
      '    echo b',
      'CMD ["sh", "-c", "echo hi"]',
      'ENTRYPOINT echo x',
      'COPY --chown=1:2 --from=base a b /dst/',
    ].join('\n'),
  );
  assert.equal(df.syntax, 'docker/dockerfile:1');
  assert.deepEqual(
    df.nodes.map((n) => n.cmd),
    ['from', 'run', 'cmd', 'entrypoint', 'copy'],
  );
  assert.equal(df.nodes[1]!.original, 'RUN echo a &&     echo b');
  assert.equal(df.nodes[1]!.line, 5);
  assert.deepEqual(df.nodes[2]!.json, ['sh', '-c', 'echo hi']);
  assert.equal(df.nodes[3]!.json, undefined);
  assert.deepEqual(df.nodes[4]!.flags, ['--chown=1:2', '--from=base']);
  assert.equal(df.nodes[4]!.args, 'a b /dst/');
});

test('escape directive and empty continuation lines', () => {
  const df = parseDockerfile('# escape=`\nFROM x\nRUN dir c:\\ `\n\n  && echo ok\n');
  assert.equal(df.escape, '`');
  assert.equal(df.nodes[1]!.args, 'dir c:\\   && echo ok');
  assert.equal(df.warnings.length, 1);
  assert.throws(() => parseDockerfile('# escape=x\nFROM a'), /invalid escape token 'x'/);
});

test('errors carry the line number in Docker’s words', () => {
  assert.throws(() => parseDockerfile('FROM busybox\n\nFOO bar\n'), { message: 'dockerfile parse error line 3: unknown instruction: FOO' });
  assert.throws(() => parseDockerfile('FROM busybox\nRUN\n'), /line 2: RUN requires at least one argument/);
});

test('heredocs', () => {
  const df = parseDockerfile('FROM a\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<"X" /f\n$NOPE\nX\nRUN <<-T cat\n\tindented\n\tT\n');
  assert.equal(df.nodes[1]!.heredocs[0]!.content, 'echo one\necho two\n');
  assert.equal(df.nodes[2]!.heredocs[0]!.expand, false);
  assert.equal(df.nodes[2]!.heredocs[0]!.content, '$NOPE\n');
  assert.equal(df.nodes[3]!.heredocs[0]!.content, 'indented\n');
  assert.equal(df.nodes.length, 4);
});

test('variable substitution where Docker does it', () => {
  const env = new Map([
    ['A', 'x'],
    ['E', ''],
    ['SP', 'a b'],
  ]);
  assert.equal(processWord('$A-${A}-${NO:-def}-${E:-emp}-${E-set}-${A:+alt}-${NO:+alt}', env), 'x-x-def-emp--alt-');
  assert.equal(processWord('\'$A\' "$A" \\$A', env), '$A x $A');
  assert.deepEqual(processWords('$SP "q w" e\\ f', env), ['a b', 'q w', 'e f']);
  assert.throws(() => processWord('${NO:?must be set}', env), /NO: must be set/);
  assert.deepEqual(parseKeyValues('ENV', 'A=1 B="two words"', '\\'), [
    ['A', '1'],
    ['B', '"two words"'],
  ]);
  assert.deepEqual(parseKeyValues('ENV', 'KEY value with  spaces', '\\'), [['KEY', 'value with  spaces']]);
});

test('.dockerignore: *, ?, **, ! exceptions, order, leading / and ..', () => {
  const p = parseDockerignore('# comment\n*.log\n!keep.log\n/build\n**/tmp\ndocs/?.md\na/../secret\n');
  assert.equal(isIgnored(p, 'x.log'), true);
  assert.equal(isIgnored(p, 'keep.log'), false);
  assert.equal(isIgnored(p, 'sub/x.log'), false); // * does not cross /
  assert.equal(isIgnored(p, 'build/out/bin'), true); // a directory pattern covers its contents
  assert.equal(isIgnored(p, 'deep/er/tmp/f'), true);
  assert.equal(isIgnored(p, 'docs/a.md'), true);
  assert.equal(isIgnored(p, 'docs/ab.md'), false);
  assert.equal(isIgnored(p, 'secret'), true);
  const order = parseDockerignore('!x.log\n*.log\n');
  assert.equal(isIgnored(order, 'x.log'), true); // the last match wins
});

test(".dockerignore reads as patternmatcher's ignorefile: comments only at column 0, spaces trimmed, spaced exceptions, a BOM", () => {
  const p = parseDockerignore('\uFEFF# comment\n  spaced.txt  \n #lead.txt\n\\#esc.txt\nsub/*\n!  sub/keep.txt\n\n   \n');
  assert.deepEqual(
    p.map((x) => `${x.exclusion ? '!' : ''}${x.text}`),
    ['spaced.txt', '#lead.txt', '\\#esc.txt', 'sub/*', '!sub/keep.txt'],
  );
  assert.equal(isIgnored(p, 'spaced.txt'), true);
  assert.equal(isIgnored(p, '#lead.txt'), true, 'a pattern after leading spaces is no comment');
  assert.equal(isIgnored(p, '#esc.txt'), true, '\\ escapes the #');
  assert.equal(isIgnored(p, '#file.txt'), false, 'a file named with # is an ordinary file');
  assert.equal(isIgnored(p, 'comment'), false);
  assert.equal(isIgnored(p, 'sub/drop.txt'), true);
  assert.equal(isIgnored(p, 'sub/keep.txt'), false, 'the exception is read with the spaces after ! trimmed');
  assert.equal(isIgnored(parseDockerignore('#file.txt\n'), '#file.txt'), false, 'a line starting with # is a comment even when a file has that name');
  assert.throws(() => parseDockerignore('!\n'), /illegal exclusion pattern: "!"/);
});

test('.dockerignore matches as patternmatcher: **, prefixes and suffixes, classes, escapes, regexp characters taken literally', () => {
  const m = (pattern: string, path: string) => isIgnored(parseDockerignore(pattern), path);
  assert.equal(m('**', 'any/thing'), true);
  assert.equal(m('**/foo', 'foo'), true);
  assert.equal(m('**/foo', 'a/b/foo'), true);
  assert.equal(m('**/foo', 'a/xfoo'), false);
  assert.equal(m('**foo', 'a/xfoo'), true);
  assert.equal(m('dir/**', 'dir/a/b'), true);
  assert.equal(m('dir/**', 'dirx/a'), false);
  assert.equal(m('a/**/b', 'a/b'), true);
  assert.equal(m('a/**/b', 'a/x/y/b'), true);
  assert.equal(m('**/*.go', 'x/y/z.go'), true);
  assert.equal(m('[a-c].txt', 'b.txt'), true);
  assert.equal(m('[^a].txt', 'a.txt'), false, '[^…] negates as a regular expression does');
  assert.equal(m('[^a].txt', 'b.txt'), true);
  assert.equal(m('[!a].txt', '!.txt'), true, '[!…] is a class holding ! (patternmatcher hands it to a regexp)');
  assert.equal(m('[!a].txt', 'b.txt'), false);
  assert.equal(m('a+b(1).txt', 'a+b(1).txt'), true);
  assert.equal(m('a.txt', 'abtxt'), false);
  assert.equal(m('a\\*b', 'a*b'), true);
  assert.equal(m('a\\*b', 'axb'), false);
  assert.equal(m('./x/../y/', 'y/z'), true, 'patterns are cleaned');
  assert.equal(m('/abs', 'abs'), true);
});

type Item = string | { type: 'symlink' | 'link'; linkname: string };

function tar(files: Record<string, Item>): Buffer {
  const chunks: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    if (typeof data !== 'string') {
      chunks.push(encodeHeader({ name, type: data.type, mode: 0o777, mtime: 1, linkname: data.linkname }));
      continue;
    }
    const b = Buffer.from(data);
    chunks.push(encodeHeader({ name, type: 'file', mode: 0o644, mtime: 1, size: b.length }), b, Buffer.alloc(padding(b.length)));
  }
  chunks.push(TAR_END);
  return Buffer.concat(chunks);
}

/** A context unpacked from a tar into a fresh directory, as the daemon spools one. */
async function context(files: Record<string, Item>): Promise<{ ctx: BuildContext; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  await unpackContext(Readable.from([tar(files)]), dir);
  return { ctx: BuildContext.open(dir), dir };
}

test('context hashes ignore times and follow content; globs and ignore files', async () => {
  const long = 'd/' + 'n'.repeat(150) + '/f.txt';
  const { ctx: c, dir } = await context({
    'a.txt': 'one',
    'b.txt': 'two',
    'src/x.go': 'x',
    [long]: 'deep',
    '.dockerignore': 'b.txt\n.dockerignore\nsrc/Dockerfile.x\n',
    'src/Dockerfile.x': 'FROM x',
  });
  const { ctx: d, dir: dir2 } = await context({ 'a.txt': 'one' });
  try {
    assert.equal(await c.hash('a.txt'), await d.hash('a.txt'));
    assert.notEqual(await c.hash('a.txt'), await c.hash('b.txt'));
    assert.deepEqual(c.glob('*.txt'), ['a.txt', 'b.txt']);
    assert.equal((await c.readFile(c.get(long)!)).toString(), 'deep');
    // As dockerd: the daemon drops only .dockerignore and the Dockerfile when the patterns name them; the client filtered the rest.
    await c.removeIgnoredControlFiles('src/Dockerfile.x');
    assert.ok(c.get('b.txt'));
    assert.equal(c.get('.dockerignore'), undefined);
    assert.equal(c.get('src/Dockerfile.x'), undefined);
    assert.ok(c.get('src/x.go'));
  } finally {
    c.close();
    d.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dir2, { recursive: true, force: true });
  }
});

test("a context that stops right after the last file's data (the docker CLI's -f - tar) unpacks; one cut inside the data does not", async () => {
  const whole = tar({ 'a.txt': 'a', '.dockerignore': 'abc' });
  const cut = whole.subarray(0, 512 * 3 + 3); // no padding, no end blocks
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctx-'));
  try {
    await unpackContext(Readable.from([cut]), dir);
    assert.equal(readFileSync(join(dir, '.dockerignore'), 'utf8'), 'abc');
    await assert.rejects(unpackContext(Readable.from([whole.subarray(0, 512 * 3 + 2)]), mkdtempSync(join(dir, 'x-'))), /unexpected EOF/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hostile context stays inside its directory: symlinks are followed in it, hard links only join its own files', async () => {
  const name = `berth-evil-${process.pid}`;
  const { ctx, dir } = await context({
    out: { type: 'symlink', linkname: '/tmp' },
    [`out/${name}`]: 'evil',
    up: { type: 'symlink', linkname: '../../../../../tmp' },
  });
  try {
    assert.equal(existsSync(join('/tmp', name)), false, 'nothing was written through the symlink to the host');
    assert.equal(readFileSync(join(dir, 'tmp', name), 'utf8'), 'evil', 'the entry landed where the link points inside the context');
    assert.equal(ctx.resolve('up')?.path, 'tmp');
    assert.equal(ctx.resolve('out/../../etc/passwd'), undefined, 'the host /etc is never reached');
  } finally {
    ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    context({ shadow: { type: 'link', linkname: '/etc/shadow' } }),
    /invalid hard link "shadow" to "\/etc\/shadow": no such file in the context/,
  );
  await assert.rejects(context({ x: { type: 'link', linkname: '../../../../etc/passwd' } }), /no such file in the context/);
});
