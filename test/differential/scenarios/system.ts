/** System endpoints: ping, version, info, system df, events, auth, and API version negotiation. */
import assert from 'node:assert/strict';
import { scenario } from '../harness.js';

scenario({
  endpoints: ['GET /_ping', 'HEAD /_ping'],
  name: 'ping answers OK with the API version headers',
  async run(s, rec) {
    const g = await s.api('GET', '/_ping', { version: null });
    rec.answer('GET', g, { exact: true });
    rec.exact('headers', { apiVersion: typeof g.headers['api-version'], cache: g.headers['cache-control'], pragma: g.headers['pragma'] });
    rec.answer('HEAD', await s.api('HEAD', '/_ping', { version: null }), { exact: true });
  },
});

scenario({
  endpoints: ['GET /_ping'],
  name: 'ping at API 1.47 names the swarm state',
  berthdOnly: 'API 1.42 added the Swarm header to /_ping (dockerd 20.10 does not send it)',
  async run(s) {
    const g = await s.api('GET', '/_ping', { version: '1.47' });
    assert.equal(g.headers['swarm'], 'inactive');
  },
});

const OWN_VERSION = [
  { at: /^version\.body\.Components/, why: 'Berth names its own components (Engine, runc) where dockerd names containerd, runc, docker-init' },
];

scenario({
  endpoints: ['GET /version'],
  name: "version has dockerd's keys; docker version --format reaches the server's fields",
  async run(s, rec) {
    const v = await s.api('GET', '/version');
    rec.answer('version', v);
    const j = v.json as Record<string, unknown>;
    rec.exact('values', { Os: j.Os, Arch: j.Arch, KernelVersion: j.KernelVersion, ApiVersion: j.ApiVersion, MinAPIVersion: j.MinAPIVersion });
    rec.cli('docker version --format Server.APIVersion', await s.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}']));
  },
  allow: [
    ...OWN_VERSION,
    { at: /^values\.(ApiVersion|MinAPIVersion)$/, why: 'Berth speaks API 1.24–1.47 (as dockerd 25+); dockerd 20.10 speaks 1.12–1.41' },
    { at: /^docker version --format Server\.APIVersion\.stdout$/, why: 'Berth speaks API 1.47; dockerd 20.10 speaks 1.41' },
  ],
});

/** /info values a client acts on, compared exactly (the rest by shape). */
const INFO_EXACT = [
  'Driver',
  'Plugins',
  'MemoryLimit',
  'SwapLimit',
  'KernelMemory',
  'KernelMemoryTCP',
  'CpuCfsPeriod',
  'CpuCfsQuota',
  'CPUShares',
  'CPUSet',
  'PidsLimit',
  'IPv4Forwarding',
  'BridgeNfIptables',
  'BridgeNfIp6tables',
  'Debug',
  'OomKillDisable',
  'LoggingDriver',
  'CgroupDriver',
  'CgroupVersion',
  'KernelVersion',
  'OperatingSystem',
  'OSVersion',
  'OSType',
  'Architecture',
  'IndexServerAddress',
  'RegistryConfig',
  'NCPU',
  'MemTotal',
  'GenericResources',
  'HttpProxy',
  'HttpsProxy',
  'NoProxy',
  'Name',
  'Labels',
  'ExperimentalBuild',
  'Runtimes',
  'DefaultRuntime',
  'Swarm',
  'LiveRestoreEnabled',
  'Isolation',
  'InitBinary',
  'RuncCommit',
  'SecurityOptions',
  'Warnings',
  'DefaultAddressPools',
];

const INFO_ALLOW = [
  { at: /\.Layers$/, why: "Berth's own count of stored layers (clients ignore keys they do not know)" },
  { at: /\.Runtimes\.io\.containerd\.(runc\.v2|runtime\.v1\.linux)$/, why: 'dockerd lists its containerd shims; Berth runs runc directly' },
  { at: /\.Plugins\.Network$/, why: "Berth's network drivers are bridge, host and null (no overlay, macvlan, ipvlan)" },
  {
    at: /\.Plugins\.Log$/,
    why: "Berth lists the log drivers it runs (json-file, local); the ones that ship logs elsewhere are refused at start in dockerd's words, so they are not listed",
  },
  { at: /\.RegistryConfig\.InsecureRegistryCIDRs$/, why: 'Berth treats ::1 as insecure too, as dockerd 27+ does (dockerd 20.10 lists 127.0.0.0/8 only)' },
  { at: /\.LiveRestoreEnabled$/, why: "Berth's containers always outlive a daemon restart (conmon keeps them)" },
  { at: /\.InitBinary$/, why: "Berth's --init is tini (Debian's), dockerd's is docker-init" },
  { at: /\.SecurityOptions(\[0\])?$/, why: 'Berth names its default seccomp profile "builtin" as dockerd 25+ does; dockerd 20.10 said "default"' },
];

scenario({
  endpoints: ['GET /info'],
  name: "info has dockerd's keys and dockerd's values for what the host supports; docker info prints the same lines",
  async run(s, rec) {
    const a = await s.api('GET', '/info');
    rec.answer('info', a);
    const j = a.json as Record<string, unknown>;
    rec.exact('values', Object.fromEntries(INFO_EXACT.map((k) => [k, j[k]])));
    rec.exact('ID is not a path', typeof j.ID === 'string' && !String(j.ID).includes('/'));
    // Everything the host decides, through the docker CLI; what names the daemon itself is left out, and the two
    // differences allowed above (containerd shims among the runtimes, "default" for the builtin seccomp profile) are
    // evened out so that any other line still counts.
    const even = (t: string) =>
      t
        .replace(/profile=default/g, 'profile=builtin')
        .replace(/Profile: default/g, 'Profile: builtin')
        .replace(/ io\.containerd\.\S+/g, '');
    const info = await s.docker(['info']);
    const own =
      /^ +(Server Version|ID|Docker Root Dir|Init Binary|containerd version|init version|Live Restore Enabled|Containers|Images|Running|Paused|Stopped|Network|Log):/;
    rec.cli('docker info', {
      ...info,
      stdout: even(info.stdout)
        .split('\n')
        .filter((l) => !own.test(l) && l.trim() !== '::1/128')
        .join('\n'),
    });
    const fmt = await s.docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{json .RegistryConfig.IndexConfigs}} {{.SecurityOptions}}']);
    rec.cli('docker info --format', { ...fmt, stdout: even(fmt.stdout) });
  },
  allow: INFO_ALLOW,
});

scenario({
  endpoints: ['GET /info'],
  name: 'info at API 1.47: kernel memory only where the host has it, CDISpecDirs',
  berthdOnly: 'API 1.42 omits KernelMemory/KernelMemoryTCP where unsupported; 1.44 adds CDISpecDirs (empty without experimental)',
  async run(s) {
    const old = (await s.api('GET', '/info')).json as Record<string, unknown>;
    const now = (await s.api('GET', '/info', { version: '1.47' })).json as Record<string, unknown>;
    assert.equal(typeof old.KernelMemory, 'boolean', 'API 1.41 always reports KernelMemory');
    assert.equal(typeof old.KernelMemoryTCP, 'boolean');
    assert.ok(!('CDISpecDirs' in old));
    for (const k of ['KernelMemory', 'KernelMemoryTCP']) {
      if (old[k] === true) assert.equal(now[k], true, `${k} kept where supported`);
      else assert.ok(!(k in now), `${k} omitted where unsupported`);
    }
    assert.deepEqual(now.CDISpecDirs, []);
    assert.equal((now.Swarm as { LocalNodeState: string }).LocalNodeState, 'inactive');
  },
});

scenario({
  endpoints: ['GET /system/df'],
  name: "system df: images, containers, volumes and build cache in dockerd's shape; docker system df and df -v",
  async run(s, rec) {
    // df counts every image: untagged ones earlier scenarios left (dockerd 20.10 leaves some where
    // Berth refuses first) go beforehand, so both sides hold busybox and what this scenario makes.
    await s.api('POST', '/images/prune');
    await s.api('POST', '/volumes/create', { body: { Name: 'sysx-vol' } });
    await s.api('POST', '/containers/create?name=sysx-df', { body: { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['sysx-vol:/data'] } } });
    const df = await s.api('GET', '/system/df');
    rec.answer('df', df);
    const j = df.json as Record<string, unknown>;
    rec.exact('counts', {
      images: (j.Images as unknown[]).length,
      containers: (j.Containers as unknown[]).length,
      volumes: (j.Volumes as unknown[]).filter((v) => (v as { Name: string }).Name === 'sysx-vol').length,
      buildCache: j.BuildCache,
      builderSize: j.BuilderSize,
    });
    const ago = (r: Awaited<ReturnType<typeof s.docker>>) => ({
      ...r,
      stdout: r.stdout.replace(/(\d+ \w+|Less than a second|About a minute|About an hour) ago/g, '<ago>').replace(/ +/g, ' '),
    });
    rec.cli('docker system df', await s.docker(['system', 'df']));
    rec.cli('docker system df -v', ago(await s.docker(['system', 'df', '-v'])));
    await s.api('DELETE', '/containers/sysx-df?force=1');
    await s.api('DELETE', '/volumes/sysx-vol');
  },
});

scenario({
  endpoints: ['GET /events'],
  name: "events: a past window with filters streams dockerd's messages; bad since/filters fail in dockerd's words",
  async run(s, rec) {
    const since = Math.floor(Date.now() / 1000) - 1;
    await s.api('POST', '/volumes/create', { body: { Name: 'sysx-evvol' } });
    await s.api('DELETE', '/volumes/sysx-evvol');
    const until = Math.floor(Date.now() / 1000) + 1;
    const filters = encodeURIComponent(JSON.stringify({ type: ['volume'], volume: ['sysx-evvol'] }));
    const ev = await s.api('GET', `/events?since=${since}&until=${until}&filters=${filters}`);
    rec.answer('volume events', ev);
    rec.exact(
      'actions',
      ((ev.json as Array<{ Action: string }>) ?? []).map((e) => e.Action),
    );
    rec.answer('none in an empty window', await s.api('GET', '/events?since=1&until=2'), { exact: true });
    rec.answer('bad since', await s.api('GET', '/events?since=x'));
    rec.answer('bad fraction', await s.api('GET', '/events?since=1.y&until=2'));
    rec.answer('bad filters', await s.api('GET', '/events?until=1&filters=bad'));
    rec.answer('unknown filter', await s.api('GET', `/events?since=1&until=2&filters=${encodeURIComponent('{"foo":["x"]}')}`), { exact: true });
    rec.cli(
      'docker events',
      await s.docker([
        'events',
        '--since',
        String(since),
        '--until',
        String(until),
        '--filter',
        'type=volume',
        '--filter',
        'volume=sysx-evvol',
        '--format',
        '{{.Type}} {{.Action}} {{.Actor.ID}}',
      ]),
    );
  },
});

scenario({
  endpoints: ['POST /auth'],
  name: "auth: an unreachable registry, a refused connection and malformed bodies fail in dockerd's words",
  async run(s, rec) {
    rec.answer('unresolvable', await s.api('POST', '/auth', { body: { username: 'u', password: 'p', serveraddress: 'registryx.invalid' } }));
    rec.answer('refused', await s.api('POST', '/auth', { body: { username: 'u', password: 'p', serveraddress: 'localhost:1' } }));
    rec.answer('empty body', await s.api('POST', '/auth', { body: Buffer.alloc(0) }));
    rec.answer('bad json', await s.api('POST', '/auth', { body: Buffer.from('{bad') }));
    rec.answer('cut off', await s.api('POST', '/auth', { body: Buffer.from('{"username":"u"') }));
    rec.answer('wrong type', await s.api('POST', '/auth', { body: { username: 1 } }));
    rec.answer('trailing bytes', await s.api('POST', '/auth', { body: Buffer.from('{"serveraddress":"localhost:1"} trailing') }));
    rec.cli('docker login', await s.docker(['login', '-u', 'u', '--password-stdin', 'registryx.invalid'], { input: 'p\n' }));
  },
});

scenario({
  endpoints: ['GET /version'],
  name: "API version negotiation: too new and too old versions refused in dockerd's words",
  async run(s, rec) {
    rec.answer('too new', await s.api('GET', '/v1.99/version', { version: null }));
    rec.answer('too old', await s.api('GET', '/v1.11/version', { version: null }));
    rec.answer('malformed', await s.api('GET', '/v1.x/version', { version: null }));
    rec.answer('unversioned', await s.api('GET', '/version', { version: null }));
  },
  allow: [
    { at: /^too new\.message$/, why: 'Berth speaks up to API 1.47; dockerd 20.10 up to 1.41' },
    { at: /^too old\.message$/, why: 'Berth speaks API 1.24 and up, as dockerd 25+ does; dockerd 20.10 still took 1.12' },
    { at: /^too old\.contentType$/, why: 'dockerd 20.10 writes this one error as text/plain; dockerd 25+ (and Berth) answer JSON like every other error' },
    ...OWN_VERSION.map((a) => ({ ...a, at: /^unversioned\.body\.Components/ })),
  ],
});

scenario({
  endpoints: ['GET /_ping', 'GET /version', 'GET /info'],
  name: 'API 1.47 is spoken; 1.48 is too new',
  berthdOnly: 'dockerd 20.10 speaks at most API 1.41',
  async run(s) {
    const ping = await s.api('GET', '/v1.47/_ping', { version: null });
    assert.equal(ping.status, 200);
    assert.equal(ping.text, 'OK');
    assert.equal(ping.headers['api-version'], '1.47');
    const v = await s.api('GET', '/v1.47/version', { version: null });
    assert.equal((v.json as { ApiVersion: string }).ApiVersion, '1.47');
    const tooNew = await s.api('GET', '/v1.48/version', { version: null });
    assert.equal(tooNew.status, 400);
    assert.deepEqual(tooNew.json, { message: 'client version 1.48 is too new. Maximum supported API version is 1.47' });
    const swarm = await s.api('GET', '/v1.47/swarm', { version: null });
    assert.equal(swarm.status, 503, 'the swarm answer does not depend on the API version');
  },
});
