/**
 * The API edge against a hostile client: requests that killed berthd (a
 * non-UTF-8 escape in a route parameter, a target starting with `//`),
 * malformed HTTP, and request bodies of the wrong wire types or values the
 * host cannot give, each answered in Docker's words and status — and berthd
 * still serving afterwards.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { startDaemon, importBusybox, http, makeTar, tempDir, cleanupDir, type Daemon } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';
import { sendRaw } from '../fuzz.js';

/** Status and parsed JSON body of a raw request (bytes no HTTP client would send). */
async function raw(socket: string | { host: string; port: number }, text: string): Promise<{ status: number | null; json: any }> {
  const r = await sendRaw(typeof socket === 'string' ? { path: socket } : socket, Buffer.from(text, 'latin1'), 5000);
  const head = Buffer.from(r.head, 'latin1').toString('utf8');
  const body = head.slice(head.indexOf('\r\n\r\n') + 4);
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: r.status, json };
}

async function post(d: Daemon, path: string, body: string): Promise<{ status: number; json: any }> {
  const r = await http(d.socket, 'POST', path, body);
  return { status: r.status, json: r.body ? JSON.parse(r.body) : undefined };
}

describe('the API edge', () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    assert.equal((await d.berth(['create', '--name', 'edge1', 'busybox', 'sleep', '100'])).code, 0);
  });
  after(async () => {
    await d?.cleanup();
  });

  const alive = async () => {
    assert.equal(d.proc!.exitCode, null, `berthd exited:\n${d.log.slice(-2000)}`);
    assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
  };

  test('a non-UTF-8 escape in a route parameter is a lookup miss, as in dockerd, not an exit', async () => {
    const r = await raw(d.socket, 'GET /containers/%ff/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { message: 'No such container: \ufffd' });
    await alive();
  });

  test("a target starting with // and a bad escape is a 400 in Docker's JSON shape", async () => {
    const r = await raw(d.socket, 'GET //a%zz/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { message: 'invalid URL escape "%zz"' });
    const r2 = await raw(d.socket, 'GET /v1.47/containers/a%zz/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r2.status, 400);
    await alive();
  });

  test('malformed HTTP is a 4xx with a JSON message, never an exit', async () => {
    const cases: Array<[string, number]> = [
      ['GET /_ping HTTP/1.1\r\nHo st: x\r\n\r\n', 400],
      ['POST /containers/create HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n{}', 400],
      ['POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400],
      ['GET /_ping HTTP/1.1\r\nX-Big: ' + 'a'.repeat(70000) + '\r\n\r\n', 431],
      ['POST /containers/edge1/attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 999999999999\r\n\r\n', 400],
      ['POST /containers/edge1/attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: abc\r\n\r\n', 400],
      ['GET /v99.0/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
      ['GET /containers/json?filters=%7B%22a%22%3A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
      ['POST /containers/create HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 18\r\n\r\n{"Image":"busybox"', 400],
    ];
    for (const [req, status] of cases) {
      const r = await raw(d.socket, req);
      assert.equal(r.status, status, req.slice(0, 120));
      assert.equal(typeof r.json?.message, 'string', `${req.slice(0, 120)} → ${JSON.stringify(r)}`);
    }
    // A body that turns malformed after the headers were read: Node ends the response already begun (400, no body).
    const chunked = await raw(d.socket, 'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n');
    assert.equal(chunked.status, 400);
    await alive();
  });

  test("bodies of the wrong wire type are 400 in Go's words", async () => {
    const cases: Array<[string, string, string]> = [
      ['/containers/create', 'null', 'Config cannot be empty in order to create a container'],
      ['/containers/create', '{"Image":"busybox","Env":[1]}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string'],
      [
        '/containers/create',
        '{"Image":"busybox","HostConfig":{"Memory":9223372036854775808}}',
        'json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.Memory of type int64',
      ],
      [
        '/containers/create',
        '{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":1e20,"Hard":1e20}]}}',
        'json: cannot unmarshal number 1e20 into Go struct field HostConfig.HostConfig.Ulimits.Soft of type int64',
      ],
      ['/containers/edge1/exec', '{"Cmd":"str"}', 'json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type []string'],
      ['/networks/create', '{"Name":5}', 'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type string'],
      ['/volumes/create', '{"Name":"v","Labels":{"a":1}}', 'json: cannot unmarshal number into Go struct field VolumeCreateOptions.Labels of type string'],
      ['/containers/edge1/update', '{"Memory":"1g"}', 'json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64'],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(d, path, body);
      assert.equal(r.status, 400, `${path} ${body}`);
      assert.equal(r.json.message, message);
    }
    // Nothing half-made: no network named 5 (or "5").
    const nets = JSON.parse((await http(d.socket, 'GET', '/networks')).body) as Array<{ Name: unknown }>;
    assert.ok(nets.every((n) => typeof n.Name === 'string' && n.Name !== '5'));
    await alive();
  });

  test('a null mount and a 5000-character volume name are 400s', async () => {
    const m = await post(d, '/containers/create', '{"Image":"busybox","HostConfig":{"Mounts":[null]}}');
    assert.equal(m.status, 400);
    const v = await post(d, '/volumes/create', JSON.stringify({ Name: 'a'.repeat(5000) }));
    assert.equal(v.status, 400);
    assert.match(v.json.message, /volume name is too long/);
  });

  test('what Go decodes is still taken: nulls, unknown keys, any letter case, a string Cmd', async () => {
    const r = await post(
      d,
      '/containers/create?name=edge-go',
      '{"image":"busybox","cmd":"true","Env":null,"Labels":{"a":null},"Bogus":{"x":1},"HostConfig":{"Memory":null,"PortBindings":null}}',
    );
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const c = JSON.parse((await http(d.socket, 'GET', '/containers/edge-go/json')).body);
    assert.deepEqual(c.Config.Cmd, ['true']);
    assert.equal(c.Config.Labels.a, '');
  });

  test("values the host cannot give are refused at create, in dockerd's words", async () => {
    const n = availableParallelism();
    const cases: Array<[unknown, string]> = [
      [{ NanoCpus: 1000 * 1e9 }, `Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`],
      [{ PortBindings: { 'abc/xyz': [{ HostPort: '80' }] } }, 'invalid port specification: "abc"'],
      [{ PortBindings: { '80/tcp': [{ HostPort: '99999' }] } }, 'invalid port specification: "99999"'],
      [{ SecurityOpt: ['no-new-privileges=maybe'] }, 'invalid --security-opt 2: "no-new-privileges=maybe"'],
      [{ SecurityOpt: ['bogus'] }, 'invalid --security-opt 1: "bogus"'],
    ];
    for (const [hc, message] of cases) {
      const r = await post(d, '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: hc }));
      assert.equal(r.status, 400, JSON.stringify(hc));
      assert.equal(r.json.message, message);
    }
    const upd = await post(d, '/containers/edge1/update', JSON.stringify({ NanoCpus: 1000 * 1e9 }));
    assert.equal(upd.status, 400);
    // The docker CLI's --cpus lands on the same check.
    const cli = await d.docker(['create', '--cpus', '1000', 'busybox']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /Range of CPUs is from 0\.01 to/);
    assert.equal((await d.docker(['create', '--security-opt', 'no-new-privileges=true', 'busybox', 'true'])).code, 0);
  });

  test('load refuses a manifest.json whose RepoTags are not strings', async () => {
    const tar = await makeTar({ 'manifest.json': JSON.stringify([{ Config: 'c.json', RepoTags: [5], Layers: [] }]), 'c.json': '{}' });
    const r = await http(d.socket, 'POST', '/images/load', tar);
    // As dockerd: 200 and the error in the JSON stream.
    assert.equal(r.status, 200, r.body);
    assert.match(JSON.parse(r.body).errorDetail.message, /cannot unmarshal number into Go struct field manifestItem\.RepoTags of type string/);
  });

  test('after all of it berthd still creates and runs a container', async () => {
    await alive();
    const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'edge-ok']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'edge-ok');
  });
});

describe("the registry server's edge", () => {
  let dir: string;
  let r: RegistryProc;
  before(async () => {
    dir = tempDir('berth-registry-edge-');
    r = new RegistryProc(join(dir, 'root'));
    await r.start();
  });
  after(async () => {
    await r?.stop();
    cleanupDir(dir);
  });

  test('malformed targets and escapes are 400 in the distribution error shape, and it keeps serving', async () => {
    const addr = { host: '127.0.0.1', port: r.port };
    for (const target of ['//a%zz/', '/v2/a%zz/manifests/latest', '/v2/app/manifests/%zz', '/v2/app/blobs/sha256:%zz']) {
      const res = await raw(addr, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 400, target);
      assert.equal(typeof res.json?.errors?.[0]?.code, 'string', target);
    }
    const ff = await raw(addr, 'GET /v2/%ff/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(ff.status, 400);
    assert.equal(ff.json.errors[0].code, 'NAME_INVALID');
    assert.equal((await raw(addr, 'GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
  });
});
