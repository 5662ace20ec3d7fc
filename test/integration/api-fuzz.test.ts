/**
 * A bounded, seeded fuzzer over the Engine API socket and the registry server,
 * as a hostile client: random methods, paths built from berthd's own route
 * table with mutated segments and percent-escapes, query strings, headers,
 * JSON bodies mutated from valid ones, truncated bodies, and raw malformed
 * HTTP. Afterwards berthd must still answer /_ping and run a container, it
 * must never have exited, and no request may have had a 5xx answer.
 *
 * Longer runs on demand (the seed is printed with every finding, so it replays):
 *     BERTH_FUZZ_COUNT=50000 BERTH_FUZZ_SEED=7 node --test dist/test/integration/api-fuzz.test.js
 * BERTH_FUZZ_COUNT is the number of Engine API requests (default 3000); the
 * registry pass sends a third as many.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildRouter } from '../../src/api/server.js';
import { startDaemon, importBusybox, http, tempDir, cleanupDir, type Daemon } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';
import { Rng, HOSTILE_SEGMENTS, HOSTILE_VALUES, mutateJson, sendRaw, rawRequest, pool, type RawReply } from '../fuzz.js';

const COUNT = Number(process.env.BERTH_FUZZ_COUNT ?? 3000);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261206);
const TIMEOUT_MS = 1500;
const PARALLEL = 16;

/** Valid bodies, one per JSON-taking route, that the mutator starts from. */
const BODIES: Record<string, unknown> = {
  '/containers/create': {
    Image: 'busybox',
    Cmd: ['true'],
    Env: ['A=1'],
    Labels: { fuzz: '1' },
    HostConfig: {
      Memory: 8388608,
      NanoCpus: 500000000,
      PortBindings: { '80/tcp': [{ HostPort: '' }] },
      Mounts: [{ Type: 'tmpfs', Target: '/t' }],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
      SecurityOpt: ['no-new-privileges'],
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['a'] } } },
  },
  '/containers/{id}/exec': { Cmd: ['echo', 'hi'], AttachStdout: true, Env: ['X=1'], User: '', WorkingDir: '/' },
  '/containers/{id}/update': { Memory: 16777216, CpuShares: 512, RestartPolicy: { Name: 'no' } },
  '/exec/{id}/start': { Detach: true, Tty: false },
  '/networks/create': { Name: 'fuzznet', Driver: 'bridge', Labels: { a: 'b' }, IPAM: { Config: [{ Subnet: '10.231.0.0/24' }] } },
  '/networks/{id}/connect': { Container: 'fuzz1', EndpointConfig: { Aliases: ['x'] } },
  '/networks/{id}/disconnect': { Container: 'fuzz1', Force: true },
  '/volumes/create': { Name: 'fuzzvol', Driver: 'local', Labels: { a: 'b' }, DriverOpts: {} },
  '/commit': { Cmd: ['sh'], Labels: { a: 'b' } },
  '/auth': { username: 'u', password: 'p', serveraddress: '127.0.0.1:1' },
};

const QUERY_KEYS = [
  'all',
  'filters',
  'name',
  't',
  'signal',
  'force',
  'v',
  'tail',
  'since',
  'until',
  'limit',
  'size',
  'path',
  'h',
  'w',
  'stream',
  'condition',
  'ps_args',
  'stdout',
  'stderr',
  'logs',
  'detachKeys',
  'repo',
  'tag',
  'changes',
  'container',
  'repair',
  'one-shot',
  'noprune',
  'buildargs',
  'labels',
];
const QUERY_VALUES = [
  '',
  '1',
  'true',
  'false',
  'abc',
  '%zz',
  '%ff',
  '{"a":',
  '{"label":["x"]}',
  '{"status":["nope"]}',
  '-1',
  '99999999999999999999',
  '1e400',
  'KILL',
  'SIGFOO',
  '0',
  '/',
  '../../etc',
  'x'.repeat(3000),
  'ctrl-x,y',
  '[1]',
  'null',
];
/** Routes that reach other hosts (Docker Hub) and so stay out of an offline suite, or get only local targets. */
const OFFLINE_QUERY: Record<string, string[]> = {
  '/images/create': ['fromImage=127.0.0.1%3A1%2Fx', 'fromImage=%zz', 'fromSrc=-', 'fromImage=127.0.0.1:1/a&tag=%ff', 'fromSrc=http%3A%2F%2F127.0.0.1%3A1%2Fx'],
  '/images/{name*}/push': ['tag=x'],
};
const SKIP = new Set(['/images/search', '/build']);

const VERSIONS = ['', '', '', '/v1.47', '/v1.24', '/v1.12', '/v0.1', '/v99.0', '/vabc', '/v1.47.1', '/v', '/v1.4a'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'FOO', 'get', 'CONNECT'];

/** Malformed HTTP no client library sends. */
const RAW_CORPUS: string[] = [
  'GET //a%zz/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /containers/%ff/json HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://x/_ping HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET a HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /_ping HTTP/9.9\r\n\r\n',
  'GET /_ping\r\n\r\n',
  '\r\n\r\n\r\n',
  'GET /_ping HTTP/1.1\r\nHo st: x\r\n\r\n',
  'GET /_ping HTTP/1.1\r\nHost x\r\n\r\n',
  'POST /containers/create HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n{}',
  'POST /containers/create HTTP/1.1\r\nContent-Length: -1\r\n\r\n{}',
  'POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
  'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  'POST /containers/fuzz1/attach?stream=1&stdout=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 999999999999\r\n\r\n',
  'POST /containers/fuzz1/attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: abc\r\n\r\n',
  'POST /exec/zz/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 5\r\n\r\n{"Det',
  'GET /_ping HTTP/1.1\r\nX-Big: ' + 'a'.repeat(70000) + '\r\n\r\n',
  'GET /_ping HTTP/1.1\r\nHost: x\r\n' + 'X-H: 1\r\n'.repeat(3000) + '\r\n',
  'GET /_ping HTTP/1.1\r\nHost: \u0000\r\n\r\n',
  'GET /\u0000 HTTP/1.1\r\n\r\n',
  'POST /auth HTTP/1.1\r\nContent-Length: 4\r\n\r\nnull',
  'POST /images/load HTTP/1.1\r\nContent-Length: 10\r\n\r\nnot a tar!',
  'GET /images/get?names=%ff HTTP/1.1\r\n\r\n',
  'GET /containers/json?filters=%7B%22a%22%3A HTTP/1.1\r\n\r\n',
];

interface Finding {
  req: string;
  status: number;
  message: string;
}

/**
 * A registry that cannot be reached is a 5xx in dockerd too (the fuzzer's pulls
 * and logins go to 127.0.0.1:1, so nothing leaves the host): not a finding.
 */
function upstreamFailure(head: string): boolean {
  return /ECONNREFUSED|connection refused|dial tcp|no such host|ENOTFOUND|EAI_AGAIN/i.test(head);
}

/**
 * Answers dockerd itself gives with a 5xx, on the endpoints that give them (the
 * differential suite holds Berth to dockerd's status there): a node outside a
 * swarm is 503 (a cluster volume update too); plugins, /auth, events and the
 * swarm lists answer a malformed request with 500 in Go's words, and a failed
 * extraction into a container is a 500. Not findings.
 */
function dockerdsOwn5xx(req: Buffer, head: string): boolean {
  const line = req.subarray(0, req.indexOf('\r\n')).toString('latin1');
  const path = /^\S+ (?:\/v[\d.]+)?(\/[^?\s]*)/.exec(line)?.[1] ?? '';
  const msg = messageOf(head);
  // A HEAD answer carries the same status without the body that words it.
  if (line.startsWith('HEAD ') && /^\/+(swarm|nodes|services|tasks|secrets|configs|plugins|auth|events)(\/|$)/.test(path)) return true;
  if (/^\/+(swarm|nodes|services|tasks|secrets|configs)(\/|$)/.test(path)) {
    return /This node is not (a swarm manager|part of a swarm)|swarm mode is not supported|Bad parameters: you must choose at least one stream|invalid character|unexpected (EOF|end of JSON input)/.test(
      msg,
    );
  }
  // Cluster volumes need a swarm: outside one dockerd answers a volume update 503.
  if (line.startsWith('PUT ') && /^\/+volumes\/[^/]+\/?$/.test(path)) return /volume update only valid for cluster volumes/.test(msg);
  // docker cp into a container: dockerd answers a failed extraction 500 in these words.
  if (line.startsWith('PUT ') && /^\/+containers\/[^/]+\/archive\/?$/.test(path)) {
    return /extraction point is not a directory|Error processing tar file|is marked read-only/.test(msg);
  }
  if (/^\/+(plugins|auth|events)(\/|$)/.test(path)) {
    return /failed to parse (privileges|reference)|no rootfs found|invalid reference format|managed plugins are not supported|strconv\.(Atoi|ParseInt)|invalid character|unexpected (EOF|end of JSON input)|"EOF"|cannot unmarshal/.test(
      msg,
    );
  }
  return false;
}

function messageOf(head: string): string {
  return head.slice(head.indexOf('\r\n\r\n') + 4, head.indexOf('\r\n\r\n') + 204);
}

function describeReq(b: Buffer): string {
  return JSON.stringify(b.subarray(0, 300).toString('latin1'));
}

/** One random Engine API request. */
function engineRequest(rng: Rng, routes: Array<{ method: string; path: string }>, ids: string[]): Buffer {
  if (rng.chance(0.04)) return Buffer.from(rng.pick(RAW_CORPUS), 'latin1');
  let route = rng.pick(routes);
  while (SKIP.has(route.path)) route = rng.pick(routes);
  const seg = () =>
    rng.chance(0.5)
      ? rng.pick(ids)
      : rng.chance(0.7)
        ? rng.pick(HOSTILE_SEGMENTS)
        : Math.random()
            .toString(36)
            .slice(2, 2 + rng.int(12));
  let path = route.path.replace(/\{(\w+)\*?\}/g, () => (rng.chance(0.1) ? `${seg()}/${seg()}` : seg()));
  if (rng.chance(0.1)) path = path.replace(/\/([^/]*)$/, `/${rng.pick(HOSTILE_SEGMENTS)}$1`);
  if (rng.chance(0.05)) path = '/' + path;
  if (rng.chance(0.05)) path += '/';
  path = rng.pick(VERSIONS) + path;
  const q: string[] = [...(OFFLINE_QUERY[route.path] ? [rng.pick(OFFLINE_QUERY[route.path]!)] : [])];
  for (let i = rng.int(3); i > 0; i--)
    q.push(`${rng.pick(QUERY_KEYS)}=${rng.chance(0.7) ? encodeURIComponent(rng.pick(QUERY_VALUES)) : rng.pick(QUERY_VALUES)}`);
  const target = q.length ? `${path}?${q.join('&')}` : path;
  const method = rng.chance(0.85) ? route.method : rng.pick(METHODS);
  const headers: Record<string, string> = {};
  if (rng.chance(0.6)) headers['Content-Type'] = rng.pick(['application/json', 'text/plain', 'application/x-tar', '']);
  if (rng.chance(0.1)) headers['X-Registry-Auth'] = rng.pick(['%%%', 'e30=', Buffer.from('{"username":5}').toString('base64'), 'x'.repeat(5000)]);
  if (rng.chance(0.05)) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'tcp' });
  let body: Buffer | undefined;
  const valid = BODIES[route.path];
  if (valid !== undefined || rng.chance(0.2)) {
    const v = valid === undefined ? {} : rng.chance(0.15) ? valid : mutateJson(rng, valid);
    let text = JSON.stringify(v) ?? 'null';
    if (rng.chance(0.1)) text = text.slice(0, rng.int(text.length)); // truncated
    if (rng.chance(0.03)) text = rng.pick(['null', '[]', '5', '"s"', '{"a":1}{"b":2}', '\ufeff{}', '{"Image":"busybox"', 'nul']);
    body = Buffer.from(text);
  }
  return rawRequest(method, target, headers, body);
}

describe('fuzzing the Engine API socket', () => {
  let d: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    for (const n of ['fuzz1', 'fuzz2']) {
      const r = await d.berth(['create', '--name', n, 'busybox', 'sleep', '1000']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await d?.cleanup();
  });

  test(`${COUNT} random requests leave berthd up, with no 5xx answer`, async () => {
    const rng = new Rng(SEED);
    const routes = buildRouter().table;
    const ids = ['fuzz1', 'fuzz2', 'busybox', 'busybox:latest', 'bridge', 'fuzzvol', 'fuzznet', 'nope', 'host', 'none'];
    const requests = Array.from({ length: COUNT }, () => engineRequest(rng, routes, ids));
    const findings: Finding[] = [];
    const crashes: string[] = [];
    let answered = 0;
    await pool(requests, PARALLEL, async (req) => {
      if (d.proc!.exitCode !== null || d.proc!.signalCode !== null) return;
      const r: RawReply = await sendRaw({ path: d.socket }, req, TIMEOUT_MS);
      if (r.status !== null) answered++;
      if (r.status !== null && r.status >= 500 && !upstreamFailure(r.head) && !dockerdsOwn5xx(req, r.head))
        findings.push({ req: describeReq(req), status: r.status, message: messageOf(r.head) });
      if (d.proc!.exitCode !== null || d.proc!.signalCode !== null) crashes.push(describeReq(req));
    });
    console.log(`fuzz: ${requests.length} requests, ${crashes.length} crashes`);
    console.log(`  seed ${SEED}, ${answered} answered, ${findings.length} with a 5xx`);
    assert.deepEqual(crashes, [], `berthd exited; log:\n${d.log.slice(-3000)}`);
    assert.deepEqual(findings.slice(0, 20), [], `5xx answers (seed ${SEED})`);
    assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
    // The fuzzer may have removed busybox: a fresh image proves the daemon still creates and runs containers.
    await importBusybox(d, 'fuzzcheck:latest');
    const run = await d.berth(['run', '--rm', 'fuzzcheck', 'echo', 'still-running']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'still-running');
  });
});

describe('fuzzing the registry server', () => {
  let dir: string;
  let r: RegistryProc;
  before(async () => {
    dir = tempDir('berth-registry-fuzz-');
    r = new RegistryProc(join(dir, 'root'), ['--delete-enabled']);
    await r.start();
  });
  after(async () => {
    await r?.stop();
    cleanupDir(dir);
  });

  test(`${Math.ceil(COUNT / 3)} random registry requests: no 5xx, no exit`, async () => {
    const rng = new Rng(SEED + 1);
    const names = ['fuzz/app', 'a', 'A', '%ff', '%zz', 'a/../b', 'a//b', 'x'.repeat(300), 'fuzz%2Fapp', '', 'a.b-c_d/e'];
    const refs = ['latest', 'sha256:' + '0'.repeat(64), 'sha256:zz', 'sha512:' + 'a'.repeat(128), '%ff', '%zz', '..', 'x'.repeat(200), 'md5:abc', ''];
    const suffixes = ['/manifests/{ref}', '/blobs/{ref}', '/blobs/uploads/', '/blobs/uploads/{ref}', '/tags/list', '/referrers/{ref}'];
    const requests: Buffer[] = [];
    for (let i = 0; i < Math.ceil(COUNT / 3); i++) {
      if (rng.chance(0.05)) {
        requests.push(Buffer.from(rng.pick(RAW_CORPUS).replace(/\/containers\/[^ ]*|\/_ping|\/auth|\/images\/[^ ]*/, '/v2/'), 'latin1'));
        continue;
      }
      const path = rng.chance(0.1)
        ? rng.pick(['/v2/', '/v2', '/v2/_catalog?n=%zz', '/v2/_catalog?n=-1&last=%ff', '/v1/search?q=%zz&n=abc', '//v2/', '/token?scope=%ff'])
        : `/v2/${rng.pick(names)}${rng.pick(suffixes).replace('{ref}', rng.pick(refs))}`;
      const query = rng.chance(0.3)
        ? `?${rng.pick(['digest', 'mount', 'from', 'n', 'last', 'artifactType'])}=${rng.pick([...refs, '-1', '99999999999999999999'])}`
        : '';
      const headers: Record<string, string> = {};
      if (rng.chance(0.3))
        headers['Content-Type'] = rng.pick([
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.oci.image.index.v1+json',
          'application/octet-stream',
          'x',
        ]);
      if (rng.chance(0.2)) headers['Content-Range'] = rng.pick(['0-0', '5-2', 'bytes=0-99999999999999999999', 'x', '0-']);
      if (rng.chance(0.1)) headers.Range = rng.pick(['bytes=0-0', 'bytes=-0', 'bytes=5-1', 'bytes=x']);
      if (rng.chance(0.1)) headers.Authorization = rng.pick(['Basic %%%', 'Bearer x.y.z', 'Basic ' + Buffer.from(':').toString('base64')]);
      let body: Buffer | undefined;
      if (rng.chance(0.4)) {
        const manifest = {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + '1'.repeat(64), size: 2 },
          layers: [],
        };
        let text = JSON.stringify(mutateJson(rng, manifest)) ?? '';
        if (rng.chance(0.2)) text = text.slice(0, rng.int(text.length));
        body = Buffer.from(rng.chance(0.1) ? String(rng.pick(HOSTILE_VALUES)) : text);
      }
      requests.push(rawRequest(rng.pick(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']), path + query, headers, body));
    }
    const findings: Finding[] = [];
    const crashes: string[] = [];
    await pool(requests, PARALLEL, async (req) => {
      if (r.proc!.exitCode !== null || r.proc!.signalCode !== null) return;
      const res = await sendRaw({ host: '127.0.0.1', port: r.port }, req, TIMEOUT_MS);
      if (res.status !== null && res.status >= 500) findings.push({ req: describeReq(req), status: res.status, message: messageOf(res.head) });
      if (r.proc!.exitCode !== null || r.proc!.signalCode !== null) crashes.push(describeReq(req));
    });
    console.log(`registry fuzz: ${requests.length} requests, ${crashes.length} crashes`);
    console.log(`  seed ${SEED + 1}, ${findings.length} with a 5xx`);
    assert.deepEqual(crashes, [], `registry exited; log:\n${r.log.slice(-3000)}`);
    assert.deepEqual(findings.slice(0, 20), [], `5xx answers (seed ${SEED + 1})`);
    const v2 = await sendRaw({ host: '127.0.0.1', port: r.port }, rawRequest('GET', '/v2/', {}), 5000);
    assert.equal(v2.status, 200);
  });
});
