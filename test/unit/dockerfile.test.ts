/** Dockerfile parser, variable substitution and .dockerignore rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/build/parser.js';
import { expandWord, expandWords } from '../../src/build/shell-lex.js';
import { IgnoreMatcher } from '../../src/build/dockerignore.js';

test('directives, comments, continuations (with empty and comment lines), case-insensitive', () => {
  const df = parseDockerfile('# escape=`\n# a comment\nfrom busybox\nRUN echo a `\n\n  # inside\n  b\nCMD ["sh", "-c"]\n');
  assert.equal(df.escape, '`');
  assert.deepEqual(df.instructions.map((i) => i.cmd), ['from', 'run', 'cmd']);
  assert.equal(df.instructions[1].rest, 'echo a b');
  assert.equal(df.instructions[1].line, 4);
  assert.deepEqual(df.instructions[2].json, ['sh', '-c']);
});

test('unknown instruction error in Docker words with its line', () => {
  assert.throws(() => parseDockerfile('FROM x\n\nFOO bar\n'), /dockerfile parse error on line 3: unknown instruction: FOO/);
});

test('heredocs and flags', () => {
  const df = parseDockerfile('FROM x\nCOPY --chown=1:1 <<EOF /f\nhello $X\nEOF\nRUN <<-"E"\n\techo hi\nE\n');
  assert.deepEqual(df.instructions[1].flags, ['--chown=1:1']);
  assert.deepEqual(df.instructions[1].heredocs, [{ name: 'EOF', content: 'hello $X\n', expand: true }]);
  assert.deepEqual(df.instructions[2].heredocs, [{ name: 'E', content: 'echo hi\n', expand: false }]);
});

test('substitution: $V, ${V}, :-, :+, quotes and escapes', () => {
  const v = new Map([['A', 'x y'], ['E', '']]);
  assert.equal(expandWord('${A}-$A', v), 'x y-x y');
  assert.equal(expandWord('${E:-d} ${E-d} ${A:+set} ${NO:+set}', v), 'd  set ');
  assert.equal(expandWord("'$A' \"$A\" \\$A", v), '$A x y $A');
  assert.deepEqual(expandWords('$A "q r"', v), ['x', 'y', 'q r']);
});

test('.dockerignore: *, ?, **, exceptions, last match wins, directories', () => {
  const m = new IgnoreMatcher('# c\n*.log\n!keep.log\nsecret/\n**/tmp?\ndocs\n!docs/README.md\n');
  assert.equal(m.excluded('a.log'), true);
  assert.equal(m.excluded('keep.log'), false);
  assert.equal(m.excluded('sub/a.log'), false);
  assert.equal(m.excluded('secret/k'), true);
  assert.equal(m.excluded('x/y/tmp1/z'), true);
  assert.equal(m.excluded('docs/a'), true);
  assert.equal(m.excluded('docs/README.md'), false);
  assert.equal(m.canSkipDir('secret'), true);
  assert.equal(m.canSkipDir('docs'), false);
});
