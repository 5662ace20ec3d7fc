import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRows, renderOne, templateSource } from '../../src/cli/format/formatter.js';
import { TemplateError } from '../../src/cli/format/template/index.js';

const HEADERS = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
};
const rows = [
  { Containers: 'N/A', CreatedSince: '3 years ago', Digest: '<none>', ID: 'aaaaaaaaaaaa', Repository: 'alpine', Size: '7.8MB', Tag: 'latest' },
  { Containers: 'N/A', CreatedSince: '3 years ago', Digest: '<none>', ID: 'aaaaaaaaaaaa', Repository: 'alpine', Size: '7.8MB', Tag: '3.20' },
  {
    Containers: 'N/A',
    CreatedSince: '6 years ago',
    Digest: '<none>',
    ID: 'bbbbbbbbbbbb',
    Repository: 'my-very-long-repository-name/with-path',
    Size: '123MB',
    Tag: 'some-tag',
  },
];

// Expected outputs were produced by the docker CLI against the same image list.
test('table TEMPLATE: header from the header map, aligned rows', () => {
  assert.equal(
    formatRows('table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}', rows, HEADERS),
    [
      'REPOSITORY                               TAG        IMAGE ID       CREATED       SIZE',
      'alpine                                   latest     aaaaaaaaaaaa   3 years ago   7.8MB',
      'alpine                                   3.20       aaaaaaaaaaaa   3 years ago   7.8MB',
      'my-very-long-repository-name/with-path   some-tag   bbbbbbbbbbbb   6 years ago   123MB',
      '',
    ].join('\n'),
  );
});

test('header functions return the header; pad still pads; unknown fields are <no value>', () => {
  assert.equal(
    formatRows('table {{.Repository}}\\t{{.Tag | upper}}\\t{{json .ID}}\\t{{pad .Size 2 2}}\\t{{truncate .ID 4}}', rows.slice(0, 1), HEADERS),
    'REPOSITORY   TAG       IMAGE ID           SIZE      IMAGE ID\nalpine       LATEST    "aaaaaaaaaaaa"     7.8MB     aaaa\n',
  );
  // with no rows only the header is printed; a field the header map lacks prints <no value>
  assert.equal(formatRows('table {{.ID}}\\t{{.Foo}}', [], HEADERS), 'IMAGE ID   <no value>\n');
  // an error while rendering the header keeps what was written before it (as docker does)
  assert.equal(formatRows('table {{.ID}}\\t{{printf "%s-x" .Tag}}\\t{{.Tag}}{{range .Tag}}{{end}}', [], HEADERS), 'IMAGE ID   TAG-x     TAG\n');
  // a header may be computed from the field's arguments (docker ps: {{.Label "com.x"}} → "x")
  assert.equal(formatRows('table {{.Label "com.x"}}', [{ Label: () => '1' }], { Label: (n: string) => n.split('.').pop()! }), 'x\n1\n');
});

test('json and plain templates', () => {
  assert.equal(
    formatRows('json', rows.slice(0, 1), HEADERS),
    '{"Containers":"N/A","CreatedSince":"3 years ago","Digest":"\\u003cnone\\u003e","ID":"aaaaaaaaaaaa","Repository":"alpine","Size":"7.8MB","Tag":"latest"}\n',
  );
  assert.equal(formatRows('{{json .}}', rows.slice(0, 1), HEADERS), formatRows('json', rows.slice(0, 1), HEADERS));
  assert.equal(formatRows('{{.Repository}}:{{.Tag}}', rows, HEADERS), 'alpine:latest\nalpine:3.20\nmy-very-long-repository-name/with-path:some-tag\n');
  assert.equal(formatRows('{{.ID}}\\t{{.Size}}|{{"a\\tb"}}', rows.slice(2), HEADERS), 'bbbbbbbbbbbb\t123MB|a\tb\n');
  assert.equal(formatRows('  table {{.ID}}', rows.slice(2), HEADERS), 'table bbbbbbbbbbbb\n');
  assert.equal(formatRows('tablex{{.ID}}', rows.slice(2), HEADERS), 'xIMAGE ID\nxbbbbbbbbbbbb\n');
  assert.equal(formatRows('{{.ID}}', [], HEADERS), '');
});

test('errors', () => {
  assert.throws(() => formatRows('{{.ID', rows, HEADERS), { message: 'template parsing error: template: :1: unclosed action' });
  assert.throws(() => formatRows('{{bad', rows, HEADERS), { message: 'template parsing error: template: :1: function "bad" not defined' });
  assert.throws(() => formatRows('{{.Foo}}', rows, HEADERS, { contextType: '*formatter.imageContext' }), {
    message: 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.imageContext',
  });
  assert.throws(
    () => formatRows('{{.Foo}}', rows, HEADERS, { contextType: '*formatter.ContainerContext', execErrorPrefix: 'failed to execute template: ' }),
    (e: unknown) => e instanceof TemplateError && e.kind === 'exec' && e.message.startsWith('failed to execute template: template: :1:2:'),
  );
  assert.equal(formatRows('{{.Foo}}', rows.slice(0, 1), HEADERS, { contextType: null }), '<no value>\n');
  // "\n" in a format becomes a newline before parsing, also inside quotes
  assert.throws(() => formatRows('{{"\\n"}}', rows, HEADERS), { message: 'template parsing error: template: :1: unterminated quoted string' });
});

test('renderOne (inspect --format)', () => {
  const obj = { Id: 'sha256:aa', Size: 4261052, Config: { Cmd: ['/bin/sh'], Labels: { b: '2', a: '1' } } };
  assert.equal(renderOne('{{.Id}} {{.Size}} {{.Config.Labels}}', obj), 'sha256:aa 4261052 map[a:1 b:2]');
  assert.equal(renderOne('{{.Size}}\\t{{.Size}}', obj), '4261052\\t4261052'); // no \t translation in inspect
  assert.equal(renderOne('json', { b: 1 }), '{"b":1}');
  assert.equal(renderOne('{{index .Config.Labels "a"}}', obj), '1');
  assert.throws(() => renderOne('{{foo}}', obj, { name: 'version' }), { message: 'template parsing error: template: version:1: function "foo" not defined' });
});

test("templateSource mirrors docker's preprocessing", () => {
  assert.equal(templateSource('table {{.ID}}\\t{{.Size}}  '), '{{.ID}}\t{{.Size}}');
  assert.equal(templateSource('json'), '{{json .}}');
  assert.equal(templateSource(' {{.ID}}\\n'), '{{.ID}}\n');
});
