/**
 * berth's own system commands print what docker prints against the same
 * berthd: context (on docker's context store, so each sees the other's),
 * version --format with Go field names, info, system df -v, plugin ls. And
 * docker-py's swarm tidy-up (leave_swarm(force=True)) works as against dockerd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, run, tempDir, BERTH, type RunResult } from '../helpers.js';

let d: Daemon;
let home: string;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  home = tempDir('berth-syscli-');
});
after(async () => {
  await d.cleanup();
  rmSync(home, { recursive: true, force: true });
});

/** berth and docker, each with its own client config dir and the daemon given by its own variable (no -H). */
function clients(name: string) {
  const cfg = { berth: join(home, `${name}-berth`), docker: join(home, `${name}-docker`) };
  mkdirSync(cfg.berth, { recursive: true });
  mkdirSync(cfg.docker, { recursive: true });
  const bare = { ...process.env };
  delete bare.DOCKER_HOST;
  delete bare.BERTH_HOST;
  return {
    cfg,
    berth: (args: string[], env: Record<string, string> = {}) => run(BERTH, args, { env: { ...bare, DOCKER_CONFIG: cfg.berth, BERTH_HOST: d.host, ...env } }),
    docker: (args: string[], env: Record<string, string> = {}) =>
      run('docker', args, { env: { ...bare, DOCKER_CONFIG: cfg.docker, DOCKER_HOST: d.host, ...env } }),
  };
}

/** What differs by construction: the config dir, the host variable's name (and so the table's column widths). */
function same(r: RunResult, dir: string): { code: number; stdout: string; stderr: string } {
  const n = (s: string) =>
    s
      .split(dir)
      .join('<config>')
      .replace(/BERTH_HOST/g, 'DOCKER_HOST')
      .replace(/ {2,}/g, '  ');
  return { code: r.code, stdout: n(r.stdout), stderr: n(r.stderr) };
}

test('context ls/create/inspect/use/rm print what docker prints, and the context chooses the daemon', async () => {
  const c = clients('ctx');
  const steps: string[][] = [
    ['context', 'ls'],
    ['context', 'create', 'ctxa', '--description', 'to berthd', '--docker', `host=${d.host}`],
    ['context', 'create', 'ctxa', '--docker', `host=${d.host}`],
    ['context', 'create', 'bad name'],
    ['context', 'create', 'ctxb', '--docker', 'host=unix:///nonexistent.sock,skip-tls-verify=true'],
    ['context', 'create', 'ctxc', '--docker', 'foo=bar'],
    ['context', 'ls'],
    ['context', 'ls', '-q'],
    ['context', 'ls', '--format', 'json'],
    ['context', 'ls', '--format', '{{.Name}}|{{.Current}}|{{.DockerEndpoint}}'],
    ['context', 'inspect', 'ctxa'],
    ['context', 'inspect', 'ctxa', '--format', '{{.Endpoints.docker.Host}} {{.Name}}'],
    ['context', 'inspect', 'nope'],
    ['context', 'use', 'ctxa'],
    ['context', 'use', 'nope'],
    ['context', 'ls'],
    ['context', 'rm', 'ctxa'],
    ['context', 'rm', 'nope', 'default'],
    ['context', 'rm', '-f', 'ctxa', 'ctxb'],
    ['context', 'ls'],
  ];
  for (const args of steps) {
    const [b, k] = await Promise.all([c.berth(args), c.docker(args)]);
    assert.deepEqual(same(b, c.cfg.berth), same(k, c.cfg.docker), `berth ${args.join(' ')}`);
  }

  // Without BERTH_HOST the current context picks the daemon; docker sees berth's context (one store).
  const shared = clients('ctxshared');
  const noHost = { BERTH_HOST: '', DOCKER_HOST: '' };
  const made = await shared.berth(['context', 'create', 'tob', '--docker', `host=${d.host}`]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal((await shared.berth(['context', 'use', 'tob'])).code, 0);
  const v = await shared.berth(['version', '--format', '{{.Client.Context}} {{.Server.APIVersion}}'], noHost);
  assert.deepEqual([v.code, v.stdout, v.stderr], [0, 'tob 1.47\n', '']);
  const viaDocker = await run('docker', ['version', '--format', '{{.Client.Context}} {{.Server.APIVersion}}'], {
    env: { ...process.env, DOCKER_HOST: '', DOCKER_CONFIG: shared.cfg.berth },
  });
  assert.deepEqual([viaDocker.code, viaDocker.stdout], [0, 'tob 1.47\n'], viaDocker.stderr);
  const flag = await shared.berth(['--context', 'default', '-H', d.host, 'version']);
  assert.deepEqual([flag.code, flag.stderr], [1, 'conflicting options: either specify --host or --context, not both\n']);
});

test('version --format reaches the Go fields docker templates use', async () => {
  const c = clients('version');
  for (const format of [
    '{{.Server.APIVersion}}',
    '{{.Server.Os}}/{{.Server.Arch}} {{.Server.MinAPIVersion}}',
    '{{.Server.ApiVersion}}',
    '{{.Nope}}',
    '{{.Client.ApiVersion}}',
  ]) {
    const [b, k] = await Promise.all([c.berth(['version', '--format', format]), c.docker(['version', '--format', format])]);
    assert.deepEqual({ code: b.code, stdout: b.stdout, stderr: b.stderr }, { code: k.code, stdout: k.stdout, stderr: k.stderr }, format);
  }
  assert.equal((await c.berth(['version', '--format', '{{.Server.APIVersion}}'])).stdout, '1.47\n');
});

test('info prints the lines docker info prints (runtimes, security options, registries)', async () => {
  const c = clients('info');
  const [b, k] = await Promise.all([c.berth(['info']), c.docker(['info'])]);
  assert.equal(b.code, 0, b.stderr);
  const server = (s: string) => s.slice(s.indexOf('Server:'));
  assert.equal(server(b.stdout), server(k.stdout));
  assert.equal(b.stderr, k.stderr);
  for (const line of [
    ' Runtimes: runc',
    ' Security Options:',
    '  seccomp',
    '   Profile: builtin',
    ' Insecure Registries:',
    '  127.0.0.0/8',
    ' Swarm: inactive',
  ]) {
    assert.ok(b.stdout.split('\n').includes(line), `${line} in\n${b.stdout}`);
  }
});

test('system df and df -v show images, containers and volumes as docker does; plugin ls an empty table', async () => {
  const c = clients('df');
  assert.equal((await d.berth(['volume', 'create', 'syscli-vol'])).code, 0);
  assert.equal((await d.berth(['create', '--name', 'syscli-df', '-v', 'syscli-vol:/data', 'busybox', 'true'])).code, 0);
  const ago = (s: string) => s.replace(/(\d+ \w+|Less than a second|About a minute|About an hour) ago/g, '<ago>').replace(/ +/g, ' ');
  for (const args of [
    ['system', 'df'],
    ['system', 'df', '-v'],
    ['plugin', 'ls'],
    ['plugin', 'ls', '-q'],
    ['plugin', 'ls', '--format', '{{.Name}}'],
  ]) {
    const [b, k] = await Promise.all([c.berth(args), c.docker(args)]);
    assert.deepEqual({ code: b.code, stdout: ago(b.stdout), stderr: b.stderr }, { code: k.code, stdout: ago(k.stdout), stderr: k.stderr }, args.join(' '));
  }
  const v = (await c.berth(['system', 'df', '-v'])).stdout;
  assert.match(v, /^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID/);
  assert.match(v, /\nContainers space usage:\n\nCONTAINER ID .*\n[0-9a-f]{12} +busybox +"true" +1 .* syscli-df\n/);
  assert.match(v, /\nsyscli-vol +1 +0B\n/);
  assert.equal((await c.berth(['plugin', 'ls'])).stdout, 'ID        NAME      DESCRIPTION   ENABLED\n');
  await d.berth(['rm', '-f', 'syscli-df']);
  await d.berth(['volume', 'rm', 'syscli-vol']);
});

test('docker-py tidies swarm and plugins up as against dockerd', async () => {
  const script = [
    'import docker',
    'api = docker.APIClient(base_url=__import__("os").environ["DOCKER_HOST"])',
    'assert api.leave_swarm(force=True) is True',
    'client = docker.DockerClient(base_url=__import__("os").environ["DOCKER_HOST"])',
    'assert client.info()["Swarm"]["LocalNodeState"] == "inactive"',
    'assert client.plugins.list() == []',
    'try:',
    '    api.leave_swarm(force=False)',
    '    raise SystemExit("leave without force must fail")',
    'except docker.errors.APIError as e:',
    '    assert e.response.status_code == 503 and "not part of a swarm" in str(e), str(e)',
    'try:',
    '    client.services.list()',
    '    raise SystemExit("services.list must fail")',
    'except docker.errors.APIError as e:',
    '    assert e.response.status_code == 503 and "not a swarm manager" in str(e), str(e)',
    'print("done")',
  ].join('\n');
  const r = await run('/usr/bin/python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host } });
  assert.deepEqual([r.code, r.stdout], [0, 'done\n'], r.stderr);
});
