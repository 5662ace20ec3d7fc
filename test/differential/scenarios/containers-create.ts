/**
 * POST /containers/create: validation, defaults, and what inspect shows of
 * the config — through the API and through the docker CLI. Object names here
 * start with `cc-`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, type Side, type Recorder } from '../harness.js';

/** Create through the API; the answer recorded, the ID returned (or undefined on an error). */
async function create(s: Side, rec: Recorder, label: string, body: Record<string, unknown>, query = ''): Promise<string | undefined> {
  const a = await s.api('POST', `/containers/create${query}`, { body });
  rec.answer(label, a);
  return a.status === 201 ? (a.json as { Id: string }).Id : undefined;
}

async function inspect(s: Side, id: string): Promise<Record<string, unknown>> {
  return (await s.api('GET', `/containers/${id}/json`)).json as Record<string, unknown>;
}

/** Where Berth's snapshots live is its own layout; the keys are dockerd's. */
const GRAPH_PATHS = {
  at: /\.GraphDriver\.Data\.(LowerDir|MergedDir|UpperDir|WorkDir)$/,
  why: 'Berth keeps snapshots under snapshots/overlay2/{layers,active}, dockerd under overlay2/ (paths differ, keys are the same)',
};
const MASKED = {
  at: /\.MaskedPaths$/,
  why: 'Berth masks /proc/interrupts and /sys/devices/virtual/powercap too, as dockerd ≥ 25 does (20.10 did not); inspect shows the list applied',
};

scenario({
  endpoints: ['POST /containers/create', 'GET /containers/{id}/json'],
  name: "create: inspect of a created container is dockerd's, field by field (API and docker create)",
  async run(s, rec) {
    const id = await create(s, rec, 'create', { Image: 'busybox' }, '?name=cc-defaults');
    rec.exact('inspect api', await inspect(s, id!));
    const r = await s.docker(['create', '--name', 'cc-defaults-cli', 'busybox']);
    rec.cli('docker create', r);
    rec.exact('inspect cli', await inspect(s, 'cc-defaults-cli'));
    const p = await s.docker(['create', '--name', 'cc-priv', '--privileged', '--ipc', 'host', '--shm-size', '1g', '--cgroupns', 'private', 'busybox']);
    rec.cli('docker create privileged', p);
    const hc = (await inspect(s, 'cc-priv')).HostConfig as Record<string, unknown>;
    rec.exact('privileged host config', {
      MaskedPaths: hc.MaskedPaths,
      ReadonlyPaths: hc.ReadonlyPaths,
      IpcMode: hc.IpcMode,
      ShmSize: hc.ShmSize,
      CgroupnsMode: hc.CgroupnsMode,
      Privileged: hc.Privileged,
    });
  },
  allow: [GRAPH_PATHS, MASKED],
});

scenario({
  endpoints: ['POST /containers/create', 'GET /containers/{id}/json', 'POST /containers/{id}/start'],
  name: "create: HostConfig.Runtime, and an unknown runtime refused in dockerd's words",
  async run(s, rec) {
    const id = await create(s, rec, 'create runc', { Image: 'busybox', Cmd: ['true'], HostConfig: { Runtime: 'runc' } }, '?name=cc-rt');
    rec.exact('runtime asked', ((await inspect(s, id!)).HostConfig as Record<string, unknown>).Runtime);
    await create(s, rec, 'create bogus', { Image: 'busybox', HostConfig: { Runtime: 'bogus' } }, '?name=cc-rt-bogus');
    const d = await create(s, rec, 'create default', { Image: 'busybox', Cmd: ['true'] }, '?name=cc-rt-default');
    rec.exact('runtime default at create', ((await inspect(s, d!)).HostConfig as Record<string, unknown>).Runtime ?? '(absent)');
    rec.answer('start', await s.api('POST', `/containers/${d}/start`));
    await s.api('POST', `/containers/${d}/wait`);
    rec.exact('runtime default after start', ((await inspect(s, d!)).HostConfig as Record<string, unknown>).Runtime ?? '(absent)');
    rec.cli('docker run --runtime bogus', await s.docker(['run', '--rm', '--runtime', 'bogus', 'busybox', 'true']));
    rec.cli('docker run --runtime runc', await s.docker(['run', '--name', 'cc-rt-cli', '--runtime', 'runc', 'busybox', 'true']));
    rec.cli('inspect runtime', await s.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', 'cc-rt-cli']));
  },
});

scenario({
  endpoints: ['POST /containers/create', 'GET /containers/{id}/logs'],
  name: 'create: log drivers — unknown refused, none stores nothing and logs refuses, json-file and local read back',
  async run(s, rec) {
    await create(s, rec, 'create asdf', { Image: 'busybox', HostConfig: { LogConfig: { Type: 'asdf', Config: {} } } }, '?name=cc-log-asdf');
    rec.cli('docker run --log-driver asdf', await s.docker(['run', '--rm', '--log-driver', 'asdf', 'busybox', 'true']));
    for (const driver of ['none', 'json-file', 'local']) {
      const name = `cc-log-${driver}`;
      rec.cli(`run ${driver}`, await s.docker(['run', '--name', name, '--log-driver', driver, 'busybox', 'echo', 'hi']));
      rec.answer(`logs ${driver}`, await s.api('GET', `/containers/${name}/logs?stdout=1&stderr=1`), { exact: true });
      rec.cli(`docker logs ${driver}`, await s.docker(['logs', name]));
      rec.exact(`inspect LogConfig ${driver}`, ((await inspect(s, name)).HostConfig as Record<string, unknown>).LogConfig);
    }
    rec.cli('local with a bad opt', await s.docker(['create', '--log-driver', 'local', '--log-opt', 'bogus=1', 'busybox']));
    rec.cli('none with an opt', await s.docker(['create', '--log-driver', 'none', '--log-opt', 'max-size=1m', 'busybox']));
  },
  allow: [
    { at: /^logs [\w-]+\.contentType$/, why: 'dockerd 20.10 labels no logs stream; dockerd ≥ 23 labels it raw-stream below API 1.42, as Berth does' },
    {
      at: /^(create asdf\.message|docker run --log-driver asdf\.stderr)$/,
      why: 'an unknown log driver in the words of dockerd ≥ 23 ("logger: no log driver named \'asdf\' is registered"); 20.10 reported a failed plugin lookup',
    },
  ],
});

scenario({
  endpoints: ['POST /containers/create', 'POST /containers/{id}/start'],
  name: 'create: log drivers that ship logs elsewhere are refused as dockerd refuses them here, never silently json-file',
  async run(s, rec) {
    for (const driver of ['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']) {
      const name = `cc-logx-${driver}`;
      const id = await create(
        s,
        rec,
        `create ${driver}`,
        { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: driver, Config: {} } } },
        `?name=${name}`,
      );
      if (id) rec.answer(`start ${driver}`, await s.api('POST', `/containers/${id}/start`));
    }
  },
  allow: [
    {
      at: /^create etwlogs\.message$/,
      why: 'etwlogs (Windows only) is an unknown driver here, refused in the words of dockerd ≥ 23; 20.10 reported a failed plugin lookup',
    },
  ],
});

scenario({
  endpoints: ['POST /containers/create', 'POST /containers/{id}/start'],
  name: 'create: -e NAME and --env-file with a name unset on the host are dropped from the process env',
  async run(s, rec) {
    rec.cli('run -e', await s.docker(['run', '--name', 'cc-env', '-e', 'CC_UNSET_VAR', '-e', 'CC_SET=1', 'busybox', 'sh', '-c', 'env | grep ^CC_ | sort']));
    rec.exact('Config.Env', (((await inspect(s, 'cc-env')).Config as Record<string, unknown>).Env as string[]).slice().sort());
    rec.cli('run -d', await s.docker(['run', '-d', '--name', 'cc-env-exec', '-e', 'CC_UNSET_VAR', 'busybox', 'sleep', '30']));
    rec.cli('exec sees no bare name', await s.docker(['exec', '-e', 'CC_EXEC_UNSET', 'cc-env-exec', 'sh', '-c', 'env | grep -c ^CC_ || true']));
    const file = join(tmpdir(), `cc-env-${process.pid}-${s.name}`);
    writeFileSync(file, '# a comment\nCC_FILE_UNSET_VAR\nCC_FILE=2\n');
    try {
      rec.cli('run --env-file', await s.docker(['run', '--rm', '--env-file', file, 'busybox', 'sh', '-c', 'env | grep ^CC_ | sort']));
    } finally {
      rmSync(file, { force: true });
    }
    const id = await create(
      s,
      rec,
      'create api',
      { Image: 'busybox', Cmd: ['sh', '-c', 'env | grep ^CC_ | sort'], Env: ['CC_BARE', 'CC_EMPTY=', 'CC_X=y'] },
      '?name=cc-env-api',
    );
    rec.answer('start', await s.api('POST', `/containers/${id}/start`));
    await s.api('POST', `/containers/${id}/wait`);
    rec.cli('logs', await s.docker(['logs', 'cc-env-api']));
  },
});

scenario({
  endpoints: ['POST /containers/create'],
  name: "create: --blkio-weight on a kernel without the weight file is dropped with dockerd's warning",
  async run(s, rec) {
    const r = await s.docker(['run', '--name', 'cc-blkio', '--blkio-weight', '300', 'busybox', 'true']);
    rec.cli('run --blkio-weight', r);
    rec.exact('BlkioWeight', ((await inspect(s, 'cc-blkio')).HostConfig as Record<string, unknown>).BlkioWeight);
    await create(s, rec, 'create api', { Image: 'busybox', HostConfig: { BlkioWeight: 300 } }, '?name=cc-blkio-api');
    await create(s, rec, 'create api out of range', { Image: 'busybox', HostConfig: { BlkioWeight: 5 } }, '?name=cc-blkio-bad');
  },
});

scenario({
  endpoints: ['POST /containers/create'],
  name: 'create: a platform the local image is not for is a missing image, as dockerd has it',
  async run(s, rec) {
    await create(s, rec, 'create arm64', { Image: 'busybox' }, '?name=cc-plat&platform=linux/arm64');
    await create(s, rec, 'create amd64', { Image: 'busybox' }, '?name=cc-plat-ok&platform=linux/amd64');
    await create(s, rec, 'create bad', { Image: 'busybox' }, '?name=cc-plat-bad&platform=linux/x/y/z');
  },
});

scenario({
  endpoints: ['POST /containers/create', 'POST /containers/{id}/start'],
  name: 'create: hostname and domainname, container:X networking, host-gateway in /etc/hosts',
  async run(s, rec) {
    rec.cli(
      'hostname+domainname',
      await s.docker([
        'run',
        '--rm',
        '--hostname',
        'h',
        '--domainname',
        'd.example',
        'busybox',
        'sh',
        '-c',
        'hostname; cat /etc/hostname; tail -n1 /etc/hosts; domainname',
      ]),
    );
    rec.cli('fqdn hostname', await s.docker(['run', '--rm', '--hostname', 'h.x.example', 'busybox', 'sh', '-c', 'hostname; tail -n1 /etc/hosts']));
    rec.cli('start X', await s.docker(['run', '-d', '--name', 'cc-netx', '--hostname', 'xhost', 'busybox', 'sleep', '30']));
    rec.cli('container:X', await s.docker(['run', '--rm', '--network', 'container:cc-netx', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname']));
    rec.cli('container:X inspect', await s.docker(['create', '--name', 'cc-netx-joiner', '--network', 'container:cc-netx', 'busybox']));
    rec.cli('container:X hostname', await s.docker(['inspect', '-f', '{{.Config.Hostname}}', 'cc-netx-joiner']));
    rec.cli(
      'host-gateway',
      await s.docker([
        'run',
        '--rm',
        '--add-host',
        'gw.cc:host-gateway',
        'busybox',
        'sh',
        '-c',
        'grep gw.cc /etc/hosts | wc -l; ip route | grep default | cut -d" " -f3 > /tmp/g; grep -c "^$(cat /tmp/g)\\sgw.cc$" /etc/hosts',
      ]),
    );
    rec.cli('host-gateway inspect', await s.docker(['create', '--name', 'cc-gw', '--add-host', 'gw.cc:host-gateway', 'busybox']));
    rec.cli('host-gateway ExtraHosts', await s.docker(['inspect', '-f', '{{json .HostConfig.ExtraHosts}}', 'cc-gw']));
  },
});

scenario({
  endpoints: ['POST /containers/create'],
  name: 'create: container names as dockerd checks them',
  async run(s, rec) {
    for (const n of ['e', '-x', 'a b', 'ok.name_1-2', '/slashed', 'é1']) {
      await create(s, rec, `name ${n}`, { Image: 'busybox' }, `?name=${encodeURIComponent(n)}`);
    }
    rec.cli('docker create --name e', await s.docker(['create', '--name', 'e', 'busybox']));
  },
});

scenario({
  endpoints: ['POST /containers/create', 'GET /containers/{id}/export'],
  name: "create: docker's init layer — /.dockerenv and /etc/mtab in a running container and in exports, not in diff",
  async run(s, rec) {
    rec.cli('run ls', await s.docker(['run', '--name', 'cc-init', 'busybox', 'sh', '-c', 'readlink /etc/mtab; stat -c "%a %s %U" /.dockerenv']));
    rec.cli('diff', await s.docker(['diff', 'cc-init']));
    const ex = await s.api('GET', '/containers/cc-init/export');
    rec.exact(
      'export has',
      ['.dockerenv', 'etc/mtab'].map((n) => ex.body.includes(Buffer.from(n + '\0'))),
    );
    rec.cli('create only', await s.docker(['create', '--name', 'cc-init-created', 'busybox']));
    const ex2 = await s.api('GET', '/containers/cc-init-created/export');
    rec.exact(
      'export of a created container has',
      ['.dockerenv', 'etc/mtab'].map((n) => ex2.body.includes(Buffer.from(n + '\0'))),
    );
  },
});
