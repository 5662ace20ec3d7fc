/**
 * docker-compose (Debian's, which talks to the daemon through docker-py)
 * against berthd: build, a project network with service-name DNS, a named
 * volume, a published port, logs, exec, restart, and `down -v` leaving
 * nothing behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { type Daemon, startDaemon, importBusybox, tempDir, cleanupDir, run } from '../helpers.js';

let d: Daemon;
let dir: string;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  dir = tempDir('berth-compose-');
});
after(async () => {
  await d?.cleanup();
  cleanupDir(dir);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** GET a path on 127.0.0.1:port; undefined while nothing answers. */
function get(port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

test('docker-compose builds, starts, connects and tears down a two-service project', async () => {
  const project = join(dir, 'shop');
  mkdirSync(join(project, 'web'), { recursive: true });
  writeFileSync(
    join(project, 'web', 'Dockerfile'),
    'FROM busybox\nRUN mkdir /www && echo built-page > /www/built.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
  );
  const port = await freePort();
  writeFileSync(
    join(project, 'docker-compose.yml'),
    [
      'version: "3.8"',
      'services:',
      '  web:',
      '    build: ./web',
      '    image: shop-web:1',
      '    ports:',
      `      - "127.0.0.1:${port}:80"`,
      '    volumes:',
      '      - data:/data',
      '  client:',
      '    image: busybox',
      "    command: sh -c 'until wget -q -O - http://web/built.html; do sleep 0.2; done; sleep 1000'",
      '    depends_on: [web]',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'),
  );
  const compose = (args: string[]) =>
    run('docker-compose', ['--no-ansi', ...args], {
      env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(dir, 'docker-config'), COMPOSE_PROJECT_NAME: 'shop' },
      timeoutMs: 180_000,
    }).then((r) => ({ ...r, all: r.stdout + r.stderr }));
  const cwd = process.cwd();
  process.chdir(project);
  try {
    const up = await compose(['up', '-d', '--build']);
    assert.equal(up.code, 0, up.all);
    assert.match(up.all, /Successfully built [0-9a-f]{12}/);
    // The image built from ./web serves its page on the published port.
    let page: string | undefined;
    for (let i = 0; i < 100 && page === undefined; i++) {
      page = await get(port, '/built.html');
      if (page === undefined) await sleep(100);
    }
    assert.equal(page, 'built-page\n');
    // The client found `web` by its service name on the project network.
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('built-page'); i++) {
      logs = (await compose(['logs', 'client'])).all;
      await sleep(100);
    }
    assert.match(logs, /built-page/);
    const ps = await compose(['ps']);
    assert.match(ps.all, /shop_web_1 .* Up .*127\.0\.0\.1:\d+->80\/tcp/);
    const ex = await compose(['exec', '-T', 'web', 'sh', '-c', 'echo kept > /data/f; cat /www/built.html']);
    assert.equal(ex.stdout, 'built-page\n', ex.all);
    assert.equal((await compose(['restart', 'web'])).code, 0);
    assert.equal((await compose(['exec', '-T', 'web', 'cat', '/data/f'])).stdout, 'kept\n');
    const down = await compose(['down', '-v']);
    assert.equal(down.code, 0, down.all);
  } finally {
    process.chdir(cwd);
  }
  assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  assert.doesNotMatch((await d.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout, /shop/);
  assert.equal((await d.berth(['volume', 'ls', '-q'])).stdout, '');
});
