/**
 * Managed plugins on a daemon with none installed, and POST /session without
 * BuildKit using it. A plugin pull goes to a registry name that cannot
 * resolve, so both daemons report the same lookup failure whatever the
 * network allows.
 */
import assert from 'node:assert/strict';
import { scenario, splitHttp } from '../harness.js';

const q = (v: unknown) => encodeURIComponent(JSON.stringify(v));

scenario({
  endpoints: ['GET /plugins', 'GET /plugins/privileges'],
  name: 'plugins: an empty list, filters checked as dockerd checks them; privileges of a reference',
  async run(s, rec) {
    rec.answer('list', await s.api('GET', '/plugins'), { exact: true });
    rec.answer('list enabled', await s.api('GET', `/plugins?filters=${q({ enabled: ['true'] })}`), { exact: true });
    rec.answer('list capability', await s.api('GET', `/plugins?filters=${q({ capability: ['volumedriver'] })}`), { exact: true });
    rec.answer('list enabled=maybe', await s.api('GET', `/plugins?filters=${q({ enabled: ['maybe'] })}`));
    rec.answer('list unknown filter', await s.api('GET', `/plugins?filters=${q({ foo: ['x'] })}`));
    rec.answer('list bad filters', await s.api('GET', '/plugins?filters=bad'));
    rec.answer('privileges no remote', await s.api('GET', '/plugins/privileges'));
    rec.answer('privileges bad remote', await s.api('GET', '/plugins/privileges?remote=UPPER'));
    rec.answer('privileges', await s.api('GET', '/plugins/privileges?remote=plugins.invalid/pluginx-sshfs'), { exact: true });
    rec.cli('docker plugin ls', await s.docker(['plugin', 'ls']));
    rec.cli('docker plugin ls --format', await s.docker(['plugin', 'ls', '--format', '{{.Name}}']));
    rec.cli('docker plugin ls -q', await s.docker(['plugin', 'ls', '-q', '--filter', 'enabled=true']));
  },
});

scenario({
  endpoints: [
    'GET /plugins/{name}/json',
    'DELETE /plugins/{name}',
    'POST /plugins/{name}/enable',
    'POST /plugins/{name}/disable',
    'POST /plugins/{name}/push',
    'POST /plugins/{name}/set',
    'POST /plugins/{name}/upgrade',
  ],
  name: "plugins: any name is not found, after dockerd's checks of the request",
  async run(s, rec) {
    const n = 'pluginx-absent';
    rec.answer('inspect', await s.api('GET', `/plugins/${n}/json`));
    rec.answer('inspect tagged', await s.api('GET', `/plugins/${n}:v1/json`));
    rec.answer('remove', await s.api('DELETE', `/plugins/${n}`));
    rec.answer('remove force', await s.api('DELETE', `/plugins/${n}?force=1`));
    rec.answer('enable no timeout', await s.api('POST', `/plugins/${n}/enable`));
    rec.answer('enable', await s.api('POST', `/plugins/${n}/enable?timeout=5`));
    rec.answer('disable', await s.api('POST', `/plugins/${n}/disable?force=1`));
    rec.answer('push', await s.api('POST', `/plugins/${n}/push`));
    rec.answer('set no body', await s.api('POST', `/plugins/${n}/set`));
    rec.answer('set', await s.api('POST', `/plugins/${n}/set`, { body: ['DEBUG=1'] }));
    rec.answer('upgrade no body', await s.api('POST', `/plugins/${n}/upgrade?remote=plugins.invalid/x`));
    rec.answer('upgrade', await s.api('POST', `/plugins/${n}/upgrade?remote=plugins.invalid/x`, { body: [] }));
    for (const args of [
      ['inspect', n],
      ['rm', n],
      ['enable', n],
      ['disable', n],
      ['push', n],
      ['set', n, 'DEBUG=1'],
    ]) {
      rec.cli(`docker plugin ${args[0]}`, await s.docker(['plugin', ...args]));
    }
  },
});

scenario({
  endpoints: ['POST /plugins/pull', 'POST /plugins/create'],
  name: "plugins: pull from an unreachable registry and create from nothing fail in dockerd's words",
  async run(s, rec) {
    rec.answer('pull no body', await s.api('POST', '/plugins/pull?remote=plugins.invalid/pluginx-sshfs'));
    rec.answer('pull bad body', await s.api('POST', '/plugins/pull?remote=plugins.invalid/pluginx-sshfs', { body: Buffer.from('{') }));
    rec.answer('pull no remote', await s.api('POST', '/plugins/pull', { body: [] }));
    rec.answer('pull', await s.api('POST', '/plugins/pull?remote=plugins.invalid/pluginx-sshfs&name=pluginx', { body: [] }));
    rec.answer('create no name', await s.api('POST', '/plugins/create'));
    rec.answer('create bad name', await s.api('POST', '/plugins/create?name=UPPER'));
    rec.answer('create no archive', await s.api('POST', '/plugins/create?name=pluginx-new'));
    rec.cli('docker plugin install', await s.docker(['plugin', 'install', '--grant-all-permissions', 'plugins.invalid/pluginx-sshfs']));
    rec.cli('docker plugin ls after', await s.docker(['plugin', 'ls']));
  },
});

scenario({
  endpoints: ['POST /session'],
  name: "session: the upgrade checked as dockerd's session manager checks it; an h2c session is accepted",
  async run(s, rec) {
    rec.answer('no upgrade', await s.api('POST', '/session'));
    const head = (upgrade: string, id: string) =>
      `POST /v1.41/session HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nX-Docker-Expose-Session-Uuid: ${id}\r\nX-Docker-Expose-Session-Name: sessionx\r\nContent-Length: 0\r\n\r\n`;
    const other = splitHttp(await s.raw(head('websocket', 'sessionx-1'), { timeoutMs: 2000 }));
    rec.exact('other protocol', { status: other.status, body: other.body.toString().trim() });
    const h2c = splitHttp(await s.raw(head('h2c', 'sessionx-2'), { timeoutMs: 1000 }));
    rec.exact('h2c', { status: h2c.status, connection: h2c.headers.connection, upgrade: h2c.headers.upgrade });
    assert.equal(h2c.status, 101);
  },
});
