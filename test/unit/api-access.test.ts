/** The API-access rules berthd checks before it listens: host forms, TLS modes as dockerd derives them, the plain-TCP refusal, the socket group. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiAccess, checkHosts, parseHost, socketGid, tlsMode } from '../../src/daemon/access.js';
import { loadSettings } from '../../src/daemon/config.js';

const base: ApiAccess = { caFile: '/nonexistent/ca.pem', certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' };

test('-H forms: unix, bare path, tcp with default ports, IPv6, fd; garbage refused', () => {
  assert.deepEqual(parseHost('unix:///run/x.sock', false), { proto: 'unix', path: '/run/x.sock' });
  assert.deepEqual(parseHost('unix://', false), { proto: 'unix', path: '/run/berth/berth.sock' });
  assert.deepEqual(parseHost('/tmp/a.sock', false), { proto: 'unix', path: '/tmp/a.sock' });
  assert.deepEqual(parseHost('tcp://0.0.0.0:2376', true), { proto: 'tcp', host: '0.0.0.0', port: 2376 });
  assert.deepEqual(parseHost('tcp://10.0.0.1', false), { proto: 'tcp', host: '10.0.0.1', port: 2375 });
  assert.deepEqual(parseHost('tcp://10.0.0.1', true), { proto: 'tcp', host: '10.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://:2376', true), { proto: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://[::1]:2376', true), { proto: 'tcp', host: '::1', port: 2376 });
  assert.deepEqual(parseHost('127.0.0.1:9999', true), { proto: 'tcp', host: '127.0.0.1', port: 9999 });
  assert.deepEqual(parseHost('fd://', false), { proto: 'fd' });
  assert.deepEqual(parseHost('fd://3', false), { proto: 'fd', fd: 3 });
  for (const bad of ['ssh://host', 'tcp://a:b:c', 'tcp://host:99999', 'tcp://host:1/path', 'fd://x'])
    assert.throws(() => parseHost(bad, false), /Invalid bind address format|failed to parse systemd fd address/, bad);
});

test('TLS modes as dockerd derives them: --tls alone verifies, --tlsverify=false does not', () => {
  assert.equal(tlsMode(base), 'off');
  assert.equal(tlsMode({ ...base, tls: false }), 'off');
  assert.equal(tlsMode({ ...base, tls: true }), 'verify');
  assert.equal(tlsMode({ ...base, tlsVerify: true }), 'verify');
  assert.equal(tlsMode({ ...base, tls: false, tlsVerify: true }), 'verify');
  assert.equal(tlsMode({ ...base, tlsVerify: false }), 'tls');
  assert.equal(tlsMode({ ...base, tls: true, tlsVerify: false }), 'tls');
});

test('TCP without client verification is refused unless opted out explicitly; unix alone needs nothing', () => {
  assert.deepEqual(checkHosts([], base).hosts, [{ proto: 'unix', path: '/run/berth/berth.sock' }]);
  assert.throws(
    () => checkHosts(['unix:///x.sock', 'tcp://127.0.0.1:2375'], base),
    /refusing to listen on tcp:\/\/127\.0\.0\.1:2375: .*'--tls=false' or '--tlsverify=false'/,
  );
  const plain = checkHosts(['tcp://127.0.0.1:2375'], { ...base, tls: false });
  assert.equal(plain.hosts.length, 1);
  assert.ok(plain.warnings.some((w) => w.includes('without encryption')));
  // TLS on: its files must be there (checked before anything listens).
  assert.throws(
    () => checkHosts(['tcp://127.0.0.1:2376'], { ...base, tlsVerify: true }),
    /invalid TLS configuration: could not read certificate "\/nonexistent\/cert\.pem"/,
  );
  assert.throws(() => checkHosts(['tcp://127.0.0.1:2376'], { ...base, tlsVerify: false }), /invalid TLS configuration/);
  // fd:// is systemd's socket: not refused (as dockerd), whatever TLS says.
  assert.equal(checkHosts(['fd://'], base).hosts.length, 1);
});

test('socket group: a named group or a number; missing "docker" falls back with a warning, another name fails', () => {
  assert.equal(socketGid('0', '/s').gid, 0);
  assert.equal(socketGid('root', '/s').gid, 0);
  assert.equal(socketGid('', '/s').gid, process.getgid!());
  assert.throws(() => socketGid('no-such-group-xyz', '/s'), /group no-such-group-xyz not found/);
});

test('daemon.json carries hosts, tls keys and group; a flag and the same key together are an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-access-'));
  try {
    const file = join(dir, 'daemon.json');
    writeFileSync(
      file,
      JSON.stringify({
        hosts: ['tcp://127.0.0.1:2376'],
        tlsverify: true,
        tlscacert: '/c/ca.pem',
        tlscert: '/c/cert.pem',
        tlskey: '/c/key.pem',
        group: 'staff',
      }),
    );
    const { settings } = await loadSettings(['--config-file', file]);
    assert.deepEqual(settings.hosts, ['tcp://127.0.0.1:2376']);
    assert.deepEqual(settings.access, { tls: undefined, tlsVerify: true, caFile: '/c/ca.pem', certFile: '/c/cert.pem', keyFile: '/c/key.pem', group: 'staff' });
    await assert.rejects(
      loadSettings(['--config-file', file, '--tlsverify=false']),
      /directives are specified both as a flag and in the configuration file: tlsverify/,
    );
    writeFileSync(file, JSON.stringify({ tls: 'yes' }));
    await assert.rejects(loadSettings(['--config-file', file]), /invalid tls: "yes"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
