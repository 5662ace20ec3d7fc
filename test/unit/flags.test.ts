import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, FlagError, type FlagDef } from '../../src/core/flags.js';
import { parseFilters, encodeFilters, matchLabels } from '../../src/core/filters.js';
import { chainIds, sha256Digest } from '../../src/core/digest.js';

const defs: FlagDef[] = [
  { name: 'all', short: 'a', type: 'bool' },
  { name: 'quiet', short: 'q', type: 'bool' },
  { name: 'filter', short: 'f', type: 'strings' },
  { name: 'format', type: 'string' },
  { name: 'tail', short: 'n', type: 'int' },
];

test('pflag forms: long, short, grouped, =, repeated, --', () => {
  const p = parseFlags(['-aq', '--filter', 'a=1', '-fb=2', '--format={{.ID}}', 'x', '-n5', '--', '-z'], defs);
  assert.equal(p.flags.all, true);
  assert.equal(p.flags.quiet, true);
  assert.deepEqual(p.flags.filter, ['a=1', 'b=2']);
  assert.equal(p.flags.format, '{{.ID}}');
  assert.equal(p.flags.tail, 5);
  assert.deepEqual(p.args, ['x', '-z']);
  assert.ok(p.set.has('filter'));
  assert.ok(!p.set.has('nope'));
});

test('flags stop at the first argument when asked', () => {
  const p = parseFlags(['-a', 'img', 'sh', '-c', 'ls'], defs, { interspersed: false });
  assert.deepEqual(p.args, ['img', 'sh', '-c', 'ls']);
});

test('unknown flags and missing values are errors in pflag’s words', () => {
  assert.throws(
    () => parseFlags(['--bogus'], defs),
    (e) => e instanceof FlagError && e.message === 'unknown flag: --bogus',
  );
  assert.throws(() => parseFlags(['-z'], defs), /unknown shorthand flag: 'z' in -z/);
  assert.throws(() => parseFlags(['--format'], defs), /flag needs an argument: --format/);
  assert.throws(() => parseFlags(['-n', 'x'], defs), /invalid argument "x"/);
});

test('filters decode both API forms and encode the current one', () => {
  assert.deepEqual(parseFilters('{"dangling":{"true":true},"label":["a=b"]}'), { dangling: ['true'], label: ['a=b'] });
  assert.deepEqual(JSON.parse(encodeFilters(['dangling=true', 'label=a=b', 'label=c'])), { dangling: { true: true }, label: { 'a=b': true, c: true } });
  assert.throws(() => parseFilters('nope'), /invalid filter/);
  assert.ok(matchLabels({ a: 'b', c: '' }, ['a=b', 'c']));
  assert.ok(!matchLabels({ a: 'b' }, ['a=x']));
});

test('chain IDs follow the OCI definition', () => {
  const a = sha256Digest('a');
  const b = sha256Digest('b');
  assert.deepEqual(chainIds([a, b]), [a, sha256Digest(`${a} ${b}`)]);
});
