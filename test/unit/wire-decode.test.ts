/**
 * Request bodies decoded as dockerd's Go decoder does (api/wire/decode.ts) and
 * request targets read as Go's server reads them (core/target.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody } from '../../src/api/wire/decode.js';
import { decodeSegment, parseTarget } from '../../src/core/target.js';

const decode = (op: Parameters<typeof decodeBody>[0], s: string) => decodeBody<Record<string, any>>(op, Buffer.from(s));

test("null is Go's no-op: fields dropped, list elements and map values zeroed, a null body is {}", () => {
  assert.deepEqual(decode('ContainerCreate', 'null'), {});
  assert.deepEqual(decode('ContainerCreate', ''), {});
  assert.deepEqual(decode('ContainerCreate', '{"Image":"b","Env":null,"Labels":{"a":null},"HostConfig":{"Mounts":[null],"Binds":[null]}}'), {
    Image: 'b',
    Labels: { a: '' },
    HostConfig: { Mounts: [{}], Binds: [''] },
  });
});

test('struct keys match case-insensitively, the last one winning; unknown keys pass through', () => {
  assert.deepEqual(decode('ContainerCreate', '{"Image":"c","IMAGE":"b","x-unknown":1}'), { Image: 'b', 'x-unknown': 1 });
  assert.deepEqual(decode('SystemAuth', '{"Username":"u","ServerAddress":"r"}'), { username: 'u', serveraddress: 'r' });
  // Map keys are data, never folded.
  assert.deepEqual(decode('ContainerCreate', '{"Labels":{"image":"x"}}').Labels, { image: 'x' });
});

test('StrSlice fields take a bare string; plain []string fields do not', () => {
  assert.deepEqual(decode('ContainerCreate', '{"Cmd":"echo hi","Entrypoint":"sh","HostConfig":{"CapAdd":"NET_ADMIN"}}'), {
    Cmd: ['echo hi'],
    Entrypoint: ['sh'],
    HostConfig: { CapAdd: ['NET_ADMIN'] },
  });
  assert.throws(() => decode('ContainerExec', '{"Cmd":"str"}'), {
    status: 400,
    message: 'json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type []string',
  });
  assert.throws(() => decode('ContainerCreate', '{"Env":"A=1"}'), {
    status: 400,
    message: /cannot unmarshal string into Go struct field ContainerConfigWrapper\.Env of type \[\]string/,
  });
});

test('integers hold what the Go field holds, judged on the literal the client wrote', () => {
  assert.equal(decode('ContainerUpdate', '{"Memory":9223372036854775807}').Memory, 2 ** 63);
  assert.throws(() => decode('ContainerUpdate', '{"Memory":9223372036854775808}'), {
    message: 'json: cannot unmarshal number 9223372036854775808 into Go struct field UpdateConfig.Memory of type int64',
  });
  assert.throws(() => decode('ContainerUpdate', '{"Memory":1e3}'), { message: /number 1e3 into/ });
  assert.throws(() => decode('ContainerUpdate', '{"CpuShares":1.5}'), { message: /number 1\.5 into/ });
  assert.throws(() => decode('ContainerCreate', '{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}'), {
    message: 'json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string',
  });
});

test('a body of the wrong kind, or not JSON, is a 400', () => {
  assert.throws(() => decode('ContainerCreate', '[1]'), { status: 400, message: 'json: cannot unmarshal array into Go value of type ContainerConfigWrapper' });
  assert.throws(() => decode('NetworkCreate', '{"Name":5}'), {
    status: 400,
    message: 'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type string',
  });
  assert.throws(() => decode('VolumeCreate', '{"Name":'), { status: 400, message: /invalid JSON/ });
});

test('request targets: // is a path, escapes decode to bytes, only a malformed escape is refused', () => {
  assert.equal(parseTarget('//containers/json?all=1').path, '//containers/json');
  assert.equal(parseTarget('/x?all=1&a=%zz').query.get('a'), '%zz');
  assert.equal(parseTarget('http://h/_ping?x=1').path, '/_ping');
  assert.throws(() => parseTarget('//a%zz/'), { status: 400, message: 'invalid URL escape "%zz"' });
  assert.throws(() => parseTarget('*'), { status: 400 });
  assert.equal(decodeSegment('%ff'), '\ufffd');
  assert.equal(decodeSegment('a%2Fb%20c'), 'a/b c');
  assert.equal(decodeSegment('caf%c3%a9'), 'café');
  assert.throws(() => decodeSegment('%'), { status: 400 });
});
