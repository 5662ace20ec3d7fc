import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, Template, TemplateError } from '../../src/cli/format/template/index.js';

// Expected outputs below were checked against the docker CLI (Go text/template).
const render = (src: string, data: unknown = {}, opts?: Parameters<typeof compileTemplate>[2]) => compileTemplate(src, undefined, opts)(data);
const parseErr = (src: string) => {
  try {
    compileTemplate(src);
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    return e.message;
  }
  assert.fail(`no parse error for ${src}`);
};
const execErr = (src: string, data: unknown = {}, opts?: Parameters<typeof compileTemplate>[2]) => {
  try {
    render(src, data, opts);
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    assert.equal(e.kind, 'exec');
    return e.message;
  }
  assert.fail(`no exec error for ${src}`);
};

const image = {
  ID: 'aaaaaaaaaaaa',
  Repository: 'alpine',
  Tag: 'latest',
  Size: 4261052,
  RepoTags: ['alpine:latest', 'alpine:3.20'],
  Labels: { 'a.b': 'x<y', b: '2' },
  Config: { Cmd: ['/bin/sh', '-c', 'a && b <c>'], Env: ['A=1'], Labels: { z: '1', 'a.b': 'x' }, Entrypoint: null },
  State: 'running',
  Names: ['web', 'alias'],
  Name: 'web',
};

test('fields, root, dot and literals', () => {
  assert.equal(render('{{.ID}}', image), 'aaaaaaaaaaaa');
  assert.equal(render('{{.Repository}}:{{.Tag}}', image), 'alpine:latest');
  assert.equal(render('{{.Config.Cmd}}', image), '[/bin/sh -c a && b <c>]');
  assert.equal(render('{{.Config.Labels}}', image), 'map[a.b:x z:1]');
  assert.equal(render('{{$.Config.Env}} {{(.Config).Env}}', image), '[A=1] [A=1]');
  assert.equal(render('{{.Size}}', image), '4261052');
  assert.equal(render('{{1e3}} {{0x1F}} {{1_000}} {{\'a\'}} {{-3}} {{+4}} {{true}} {{"s\\t"}} {{`r\\t`}}'), '1000 31 1000 97 -3 4 true s\t r\\t');
  assert.equal(render('{{.Missing}}', image), '<no value>');
  assert.equal(render('{{.Config.Labels.nope}}', image), '<no value>');
  assert.equal(render('{{.Config.Entrypoint}}', image), '<nil>');
});

test('json: Go encoding, no HTML escaping (docker disables it)', () => {
  assert.equal(render('{{json .Config.Cmd}}', image), '["/bin/sh","-c","a && b <c>"]');
  assert.equal(render('{{json .Config.Entrypoint}}{{json .Missing}}', image), 'nullnull');
  // struct-like objects keep field order; map-like ones (labels) are sorted as Go sorts maps
  assert.equal(render('{{json .Config}}', image), '{"Cmd":["/bin/sh","-c","a && b <c>"],"Env":["A=1"],"Labels":{"a.b":"x","z":"1"},"Entrypoint":null}');
  assert.equal(render('{{json .}}', { b: 1, a: [1.5, 'x\u2028'] }), '{"a":[1.5,"x\\u2028"],"b":1}');
  assert.equal(render('{{json "<a&b>"}}'), '"<a&b>"');
});

test('index, len, slice', () => {
  assert.equal(render('{{index .Labels "a.b"}}', image), 'x<y');
  assert.equal(render('{{index .Labels "missing"}}|', image), '|'); // zero value of a string map
  assert.equal(render('{{index .RepoTags 1}} {{len .RepoTags}} {{len "héllo"}} {{index "abc" 1}}', image), 'alpine:3.20 2 6 98');
  assert.equal(render('{{slice .Config.Cmd 1 2}}{{slice "hello" 1 3}}', image), '[-c]el');
  assert.equal(
    execErr('{{index .Config.Cmd 10}}', image),
    'template parsing error: template: :1:2: executing "" at <index .Config.Cmd 10>: error calling index: index out of range: 10',
  );
  assert.equal(execErr('{{len 3}}'), 'template parsing error: template: :1:2: executing "" at <len 3>: error calling len: len of type int');
});

test('if / else if / else, with, comparisons and logic', () => {
  assert.equal(render('{{if eq .State "running"}}up{{end}}', image), 'up');
  assert.equal(render('{{if eq .State "exited"}}down{{else if .Size}}big{{else}}x{{end}}', image), 'big');
  assert.equal(render('{{with .Config}}{{.Env}}{{end}}{{with .Nope}}x{{else}}none{{end}}', image), '[A=1]none');
  assert.equal(render('{{with .Nope}}{{else with .Tag}}{{.}}{{end}}', image), 'latest');
  assert.equal(render('{{eq 1 1}}{{eq "a" "b" "a"}}{{ne "a" "b"}}{{lt 1 2}}{{le 2 2}}{{gt "b" "a"}}{{ge 1 2}}'), 'truetruetruetruetruetruefalse');
  assert.equal(render('{{and 1 0}}{{or 0 ""}}{{or 0 "x"}}{{not ""}}{{and 1 2}}'), '0xtrue2');
  assert.equal(render('{{if .Config.Labels}}t{{end}}{{if .Config.Entrypoint}}t{{else}}f{{end}}{{if ""}}{{else}}e{{end}}', image), 'tfe');
  assert.equal(
    execErr('{{eq "a" 1}}'),
    'template parsing error: template: :1:2: executing "" at <eq "a" 1>: error calling eq: incompatible types for comparison',
  );
});

test('range over arrays, maps (sorted keys), ints; else; variables; break/continue', () => {
  assert.equal(render('{{range .RepoTags}}{{.}} {{end}}', image), 'alpine:latest alpine:3.20 ');
  assert.equal(render('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', image), 'a.b=x;z=1;');
  assert.equal(render('{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}} {{end}}', image), '0:/bin/sh 1:-c 2:a && b <c> ');
  assert.equal(render('{{range .Nope}}x{{else}}empty{{end}}{{range .Config.Labels}}{{.}},{{end}}', image), 'emptyx,1,'); // values in key order (a.b, z)
  assert.equal(render('{{range 3}}{{.}}{{end}}'), '012');
  assert.equal(render('{{$x := "v"}}{{range .Config.Cmd}}{{$x}}{{$.Tag}} {{end}}', image), 'vlatest vlatest vlatest ');
  assert.equal(render('{{$x := 1}}{{$x = 2}}{{$x}}{{if true}}{{$x = 3}}{{end}}{{$x}}'), '23');
  assert.equal(render('{{range $i, $c := .Config.Cmd}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 2}}{{break}}{{end}}{{$c}},{{end}}', image), '/bin/sh,');
  assert.equal(execErr('{{range "abc"}}{{end}}'), 'template parsing error: template: :1:8: executing "" at <"abc">: range can\'t iterate over abc');
});

test('pipelines, parentheses and docker functions', () => {
  assert.equal(render('{{.Name | upper}}', image), 'WEB');
  assert.equal(render('{{join .Names ", "}}', image), 'web, alias');
  assert.equal(render('{{.Config.Cmd | len | printf "%d"}}', image), '3');
  assert.equal(render('{{upper "abc"}}{{lower "ÀB"}}{{title "hello wORLD foo-bar_baz 9lives"}}'), 'ABCàbHello WORLD Foo-Bar_baz 9lives');
  assert.equal(render('{{split "a,b,,c" ","}}{{len (split "abc" "")}}'), '[a b  c]3');
  assert.equal(render('{{truncate .ID 4}}|{{truncate "ab" 3}}|{{pad "x" 1 2}}|{{pad "" 1 2}}|', image), 'aaaa|ab| x  ||');
  assert.equal(render('{{printf "%s:%d" .Tag .Size}}', image), 'latest:4261052');
  assert.equal(render('{{print 1 2 "a" "b" 3 nil}}|{{println "x" 1}}|'), '1 2ab3 <nil>|x 1\n|');
  assert.equal(render('{{html "<a>&\\"x"}}{{urlquery "a b&c"}}'), '&lt;a&gt;&amp;&#34;xa+b%26c');
  assert.equal(compileTemplate('{{shout .}}', { shout: (s: string) => s + '!' })('hi'), 'hi!');
  assert.equal(
    execErr('{{upper .Size}}', image),
    'template parsing error: template: :1:8: executing "" at <.Size>: wrong type for value; expected string; got int',
  );
});

test('printf verbs follow Go fmt', () => {
  assert.equal(
    render('{{printf "%5s|%-5s|%05d|%x|%X|%o|%b|%c|%q|%U" "ab" "cd" 42 255 255 8 5 65 "hi\\n" 0x1F600}}'),
    '   ab|cd   |00042|ff|FF|10|101|A|"hi\\n"|U+1F600',
  );
  assert.equal(
    render('{{printf "%.2e|%g|%.3g|%8.3f|%+d|% d|%t|%T|%v" 0.000123 1e21 3.14159 2.71828 5 5 true "s" nil}}'),
    '1.23e-04|1e+21|3.14|   2.718|+5| 5|true|string|<nil>',
  );
  assert.equal(render('{{printf "%.1f %.1f %.1f %.0f %.0f" 0.25 0.35 2.5 0.5 1.5}}'), '0.2 0.3 2.5 0 2'); // exact value, ties to even
  assert.equal(
    render('{{printf "%d %d" 1}}|{{printf "%d" "s"}}|{{printf "%s" 1 2}}|{{printf "%z" 1}}'),
    '1 %!d(MISSING)|%!d(string=s)|%!s(int=1)%!(EXTRA int=2)|%!z(int=1)',
  );
  assert.equal(render('{{printf "%v %v %v" 1.5 123456.5 0.00001}}'), '1.5 123456.5 1e-05');
});

test('trim markers and comments', () => {
  assert.equal(render('a {{- " b " -}} c {{- 3}}'), 'a b c3');
  assert.equal(render('a  {{- /* comment */ -}}  b {{/* x */}}c'), 'ab c');
  assert.equal(render('{{range .RepoTags -}}\n  {{.}}\n{{end -}}\n', image), 'alpine:latest\nalpine:3.20\n');
  assert.equal(render('{{-3}}{{- 3}}{{3 -}}{{ 3 }}'), '-3333');
});

test("parse errors read like docker's", () => {
  assert.equal(parseErr('{{foo}}'), 'template parsing error: template: :1: function "foo" not defined');
  assert.equal(parseErr('{{if}}'), 'template parsing error: template: :1: missing value for if');
  assert.equal(parseErr('{{end}}'), 'template parsing error: template: :1: unexpected {{end}}');
  assert.equal(parseErr('{{if 1}}'), 'template parsing error: template: :1: unexpected EOF');
  assert.equal(parseErr('{{.ID'), 'template parsing error: template: :1: unclosed action');
  assert.equal(parseErr('line1\n{{.ID\n'), 'template parsing error: template: :3: unclosed action started at :2');
  assert.equal(parseErr('{{.ID\n"x'), 'template parsing error: template: :2: unterminated quoted string in action started at :1');
  assert.equal(parseErr('{{$x}}'), 'template parsing error: template: :1: undefined variable "$x"');
  assert.equal(parseErr('{{"abc}}'), 'template parsing error: template: :1: unterminated quoted string');
  assert.equal(parseErr('{{(1}}'), 'template parsing error: template: :1: unclosed left paren');
  assert.equal(parseErr('{{1)}}'), 'template parsing error: template: :1: unexpected right paren');
  assert.equal(parseErr('{{}}'), 'template parsing error: template: :1: missing value for command');
  assert.equal(parseErr('{{.a-b}}'), "template parsing error: template: :1: bad character U+002D '-'");
  assert.equal(parseErr('{{.ID | "x"}}'), 'template parsing error: template: :1: non executable command in pipeline stage 2');
  assert.equal(parseErr('{{break}}'), 'template parsing error: template: :1: {{break}} outside {{range}}');
  assert.equal(parseErr('{{if 1}}{{else}}{{else}}{{end}}'), 'template parsing error: template: :1: expected end; found {{else}}');
  assert.equal(parseErr('{{"x".y}}'), 'template parsing error: template: :1: unexpected . after term "\\"x\\""');
  assert.equal(parseErr('{{/* x */ }}'), 'template parsing error: template: :1: comment ends before closing delimiter');
  // a named template, as `docker version` uses
  assert.throws(() => Template.parse('{{foo}}', {}, { name: 'version' }), {
    message: 'template parsing error: template: version:1: function "foo" not defined',
  });
});

test("exec errors carry Go's position and context", () => {
  assert.equal(execErr('{{"x" 1}}'), 'template parsing error: template: :1:2: executing "" at <"x">: can\'t give argument to non-function "x"');
  assert.equal(
    execErr('x\n{{range $i, $v := .Config.Cmd}} {{$v}}\n{{index $v 100}}{{end}}', image),
    'template parsing error: template: :3:2: executing "" at <index $v 100>: error calling index: index out of range: 100',
  );
  assert.equal(
    execErr('{{.Missing}}', image, { missingKey: 'error' }),
    'template parsing error: template: :1:2: executing "" at <.Missing>: map has no entry for key "Missing"',
  );
  assert.equal(
    execErr('{{.Config.Labels.zz}}', image, { missingKey: 'error' }),
    'template parsing error: template: :1:9: executing "" at <.Config.Labels.zz>: map has no entry for key "zz"',
  );
  // a field chain's position is that of its second field, as in Go
  assert.equal(execErr('{{.Tag.x}}', image), 'template parsing error: template: :1:6: executing "" at <.Tag.x>: can\'t evaluate field x in type string');
  assert.equal(
    execErr('{{.ID}}{{.Foo}}', image, { structType: () => '*formatter.imageContext' }),
    'template parsing error: template: :1:9: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext',
  );
  try {
    render('ab{{.ID}}{{index .RepoTags 9}}', image);
  } catch (e) {
    assert.equal((e as TemplateError).partial, 'abaaaaaaaaaaaa');
  }
});

test('methods: function-valued properties are called with the arguments', () => {
  const ctx = {
    Label(name: string) {
      return ({ 'com.x': '1' } as Record<string, string>)[name] ?? '';
    },
    ID: () => 'abc',
  };
  assert.equal(render('{{.Label "com.x"}}|{{.ID}}|{{"com.x" | .Label}}', ctx), '1|abc|1');
});

test('define, template and block', () => {
  assert.equal(render('{{define "x"}}X{{.}}{{end}}a{{template "x" .Size}}b{{template "x"}}', image), 'aX4261052bX<no value>');
  assert.equal(render('{{block "b" .Tag}}[{{.}}]{{end}}', image), '[latest]');
  assert.equal(execErr('{{template "x"}}'), 'template parsing error: template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined');
  assert.equal(
    execErr('{{define "x"}}{{index . 5}}{{end}}{{template "x" .Config.Cmd}}', image),
    'template parsing error: template: :1:16: executing "x" at <index . 5>: error calling index: index out of range: 5',
  );
  assert.equal(parseErr('{{$y := 1}}{{define "x"}}{{$y}}{{end}}'), 'template parsing error: template: :1: undefined variable "$y"');
  assert.equal(parseErr('{{if 1}}{{define "x"}}{{end}}{{end}}'), 'template parsing error: template: :1: unexpected <define> in command');
});
