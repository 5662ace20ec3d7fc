import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TabWriter, tabulate, displayWidth } from '../../src/cli/format/table.js';

const docker = () => new TabWriter({ minWidth: 10, tabWidth: 1, padding: 3, padChar: ' ' });

// Expected layouts below are what the docker CLI printed for the same cells.
test('docker images style table', () => {
  const out = docker()
    .write('REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n')
    .write('alpine\tlatest\taaaaaaaaaaaa\t3 years ago\t7.8MB\n')
    .write('alpine\t3.20\taaaaaaaaaaaa\t3 years ago\t7.8MB\n')
    .write('my-very-long-repository-name/with-path\tsome-tag\tbbbbbbbbbbbb\t6 years ago\t123MB\n')
    .flush();
  assert.equal(
    out,
    [
      'REPOSITORY                               TAG        IMAGE ID       CREATED       SIZE',
      'alpine                                   latest     aaaaaaaaaaaa   3 years ago   7.8MB',
      'alpine                                   3.20       aaaaaaaaaaaa   3 years ago   7.8MB',
      'my-very-long-repository-name/with-path   some-tag   bbbbbbbbbbbb   6 years ago   123MB',
      '',
    ].join('\n'),
  );
});

test('lines without tabs split column blocks', () => {
  const out = tabulate('REPOSITORY\nTAG\tSIZE\nalpine\nlatest\t7.8MB\nmy-very-long-repository-name/with-path\nsome-tag\t123MB\n');
  assert.equal(out, 'REPOSITORY\nTAG       SIZE\nalpine\nlatest    7.8MB\nmy-very-long-repository-name/with-path\nsome-tag   123MB\n');
});

test('empty cells and trailing tabs are padded; the last cell is not', () => {
  const out = tabulate('TAG\t\t\tSIZE\t\nlatest\t\t\t7.8MB\t\nsome-tag\t\t\t123MB\t\n');
  assert.equal(out, 'TAG                            SIZE      \nlatest                         7.8MB     \nsome-tag                       123MB     \n');
});

test('a shorter line ends the block of the columns it lacks', () => {
  const out = tabulate('TAG\tIMAGE ID\tSIZE\nlatest\taaaaaaaaaaaa\t7.8MB\n3.20\nsome-tag\tbbbbbbbbbbbb\t123MB\n');
  assert.equal(out, 'TAG       IMAGE ID       SIZE\nlatest    aaaaaaaaaaaa   7.8MB\n3.20\nsome-tag   bbbbbbbbbbbb   123MB\n');
});

test('text without a final newline is written as is', () => {
  assert.equal(tabulate('a\tb\ncc\td'), 'a         b\ncc        d');
  assert.equal(tabulate(''), '');
});

test('widths are terminal columns (docker uses go-runewidth)', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('é日本'), 5);
  assert.equal(displayWidth('e\u0301x😀👍🏽🇯🇵'), 7);
  assert.equal(displayWidth('\x01a\x7f'), 1);
  const out = tabulate('TAG\tSIZE\né日本\tlatest\t7.8MB\n3.20\t7.8MB\nsome-tag\t123MB\n');
  assert.equal(out, 'TAG        SIZE\né日本      latest    7.8MB\n3.20       7.8MB\nsome-tag   123MB\n');
});
