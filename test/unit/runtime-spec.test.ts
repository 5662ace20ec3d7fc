/**
 * OCI spec generation: Docker's defaults, capabilities, resources, mounts,
 * privileged mode; and, where runc and root are available, a real `runc run`
 * of the generated spec against a busybox rootfs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, mkdtempSync, mkdirSync, copyFileSync, symlinkSync, writeFileSync, rmSync, readdirSync, rmdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerSpec as buildSpec, execProcess as buildExecProcess, type ContainerSpecInput as SpecInput } from '../../src/engine/containers/oci/spec.js';
import { resolveCaps, DEFAULT_CAPS } from '../../src/engine/containers/oci/capabilities.js';
import { specToJson } from '../../src/runtime/spec/index.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../src/runtime/spec/security.js';
import type { OciSpec } from '../../src/runtime/spec/types.js';
import { resolveUser } from '../../src/runtime/user.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { HostConfig } from '../../src/core/wire/host-config.js';

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const SWAP = V2 || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');

function input(hostConfig: HostConfig = {}, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'c1',
    rootfs: '/var/lib/berth/rootfs/c1',
    args: ['sh', '-c', 'echo hi'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [0] },
    hostname: 'c1host',
    tty: false,
    hostConfig,
    cgroupsPath: '/berth/c1',
    ...extra,
  };
}
const mount = (s: OciSpec, dest: string) => s.mounts.find((m) => m.destination === dest);
const dests = (s: OciSpec) => s.mounts.map((m) => m.destination);

test('defaults match docker: namespaces, mounts, masked paths, caps, devices', () => {
  const s = buildSpec(input());
  assert.equal(s.ociVersion, '1.0.2');
  assert.deepEqual(s.root, { path: '/var/lib/berth/rootfs/c1', readonly: false });
  assert.equal(s.hostname, 'c1host');
  assert.equal(s.process.terminal, false);
  assert.equal(s.process.noNewPrivileges, false);
  assert.deepEqual(s.process.args, ['sh', '-c', 'echo hi']);
  assert.equal(s.linux.cgroupsPath, '/berth/c1');
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts', ...(V2 ? ['cgroup'] : [])].sort());
  assert.ok(s.linux.namespaces.every((n) => n.path === undefined));
  // cgroup v1: the cgroup tmpfs is bound onto itself read-only (runc leaves it writable).
  const cgroupMounts = V2 ? ['/sys/fs/cgroup'] : ['/sys/fs/cgroup', '/sys/fs/cgroup'];
  assert.deepEqual(dests(s), ['/proc', '/dev', '/dev/pts', '/sys', ...cgroupMounts, '/dev/mqueue', '/dev/shm']);
  if (!V2) {
    assert.deepEqual(s.mounts[5], {
      destination: '/sys/fs/cgroup',
      type: 'bind',
      source: '/var/lib/berth/rootfs/c1/sys/fs/cgroup',
      options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'],
    });
    const priv = buildSpec(input({ Privileged: true }));
    assert.deepEqual(
      priv.mounts.filter((m) => m.destination === '/sys/fs/cgroup').map((m) => m.type),
      ['cgroup'],
      '--privileged: writable, as Docker',
    );
  }
  assert.deepEqual(mount(s, '/dev')?.options, ['rw', 'nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  assert.ok(mount(s, '/dev/pts')?.options?.includes('newinstance'));
  assert.ok(mount(s, '/dev/pts')?.options?.includes('ptmxmode=0666'));
  assert.ok(mount(s, '/sys')?.options?.includes('ro'));
  assert.ok(mount(s, '/sys/fs/cgroup')?.options?.includes('ro'));
  assert.equal(mount(s, '/dev/shm')?.type, 'tmpfs');
  assert.deepEqual(mount(s, '/dev/shm')?.options, ['rw', 'nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']);
  assert.deepEqual(s.linux.maskedPaths, MASKED_PATHS);
  assert.ok(s.linux.maskedPaths?.includes('/proc/kcore'));
  assert.deepEqual(s.linux.readonlyPaths, READONLY_PATHS);
  assert.equal(DEFAULT_CAPS.length, 14);
  assert.deepEqual(s.process.capabilities, { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS });
  const rules = s.linux.resources.devices;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  for (const [maj, min] of [
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 2],
  ]) {
    assert.ok(
      rules.some((r) => r.allow && r.type === 'c' && r.major === maj && r.minor === min && r.access === 'rwm'),
      `${maj}:${min}`,
    );
  }
  assert.ok(rules.some((r) => r.allow && r.type === 'c' && r.major === 136 && r.minor === undefined));
  assert.ok(rules.some((r) => r.allow && r.type === 'b' && r.access === 'm'));
  assert.deepEqual(s.linux.devices, []);
  assert.equal(s.process.rlimits, undefined);
  assert.equal(s.linux.resources.memory, undefined);
  assert.equal(s.linux.resources.cpu, undefined);
});

test('resolveCaps: add, drop, ALL, case-insensitivity, unknown names', () => {
  const added = resolveCaps(['NET_ADMIN', 'cap_sys_ptrace', 'chown'], ['MKNOD', 'Cap_Kill'], false);
  assert.ok(added.includes('CAP_NET_ADMIN'));
  assert.ok(added.includes('CAP_SYS_PTRACE'));
  assert.ok(!added.includes('CAP_MKNOD'));
  assert.ok(!added.includes('CAP_KILL'));
  assert.equal(added.filter((c) => c === 'CAP_CHOWN').length, 1, 'no duplicates');
  assert.deepEqual(resolveCaps(['NET_BIND_SERVICE'], ['ALL'], false), ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual(resolveCaps(null, ['all'], false), []);
  const all = resolveCaps(['ALL'], ['MKNOD'], false);
  assert.ok(all.includes('CAP_SYS_ADMIN'));
  assert.ok(!all.includes('CAP_MKNOD'));
  assert.deepEqual(resolveCaps(undefined, undefined, false), DEFAULT_CAPS);
  assert.throws(
    () => resolveCaps(['FOO'], [], false),
    (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unknown capability: "CAP_FOO"' && e.status === 400,
  );
  assert.throws(() => resolveCaps([], ['CAP_BOGUS'], false), /unknown capability: "CAP_BOGUS"/);
  // Privileged gets everything and ignores the lists, as dockerd does.
  const priv = resolveCaps(['FOO'], ['ALL'], true);
  assert.ok(priv.includes('CAP_SYS_ADMIN') && priv.includes('CAP_CHOWN'));
  assert.ok(priv.length > 30);
});

test('resources: cpus, memory, swap, pids, shares, cpuset, blkio, ulimits', () => {
  const s = buildSpec(
    input({
      NanoCpus: 1e9,
      Memory: 2147483648,
      MemoryReservation: 1073741824,
      PidsLimit: 1000,
      CpuShares: 512,
      CpusetCpus: '0-1',
      CpusetMems: '0',
      BlkioWeight: 300,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 4096 },
        { Name: 'core', Soft: -1, Hard: -1 },
      ],
    }),
  );
  const r = s.linux.resources;
  assert.deepEqual(r.cpu, { period: 100000, quota: 100000, shares: 512, cpus: '0-1', mems: '0' });
  assert.equal(r.memory?.limit, 2147483648);
  assert.equal(r.memory?.reservation, 1073741824);
  assert.equal(r.memory?.swap, SWAP ? 2 * 2147483648 : undefined, 'docker: no --memory-swap means swap = memory');
  assert.deepEqual(r.pids, { limit: 1000 });
  assert.deepEqual(r.blockIO, { weight: 300 });
  assert.deepEqual(s.process.rlimits, [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
    { type: 'RLIMIT_CORE', soft: -1, hard: -1 },
  ]);
  const json = specToJson(s);
  assert.match(json, /"soft": 18446744073709551615/);
  assert.match(json, /"hard": 4096/);

  assert.deepEqual(buildSpec(input({ NanoCpus: 1.5e9 })).linux.resources.cpu, { period: 100000, quota: 150000 });
  assert.deepEqual(buildSpec(input({ CpuPeriod: 50000, CpuQuota: 25000 })).linux.resources.cpu, { period: 50000, quota: 25000 });
  assert.equal(buildSpec(input({ Memory: 1 << 30, MemorySwap: -1 })).linux.resources.memory?.swap, SWAP ? -1 : undefined);
  if (SWAP) assert.equal(buildSpec(input({ Memory: 1 << 30, MemorySwap: 3 * 2 ** 30 })).linux.resources.memory?.swap, 3 * 2 ** 30);
  assert.equal(buildSpec(input({ PidsLimit: 0 })).linux.resources.pids, undefined);
  assert.equal(buildSpec(input({ PidsLimit: -1 })).linux.resources.pids, undefined);
  assert.throws(() => buildSpec(input({ NanoCpus: 1e9, CpuQuota: 1000 })), /Nano CPUs and CPU Quota/);
  assert.throws(() => buildSpec(input({ MemorySwap: 1 << 30 })), /always set the Memory limit/);
  assert.throws(() => buildSpec(input({ Memory: 2 * 2 ** 30, MemorySwap: 2 ** 30 })), /larger than memory limit/);
});

test('privileged: all caps, no masking, writable /sys and cgroup fs, all devices', () => {
  const s = buildSpec(
    input({ Privileged: true, CapDrop: ['ALL'], Devices: [{ PathOnHost: '/nonexistent', PathInContainer: '/x', CgroupPermissions: 'rwm' }] }),
  );
  assert.ok(s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.deepEqual(s.process.capabilities.effective, s.process.capabilities.bounding);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.ok(!mount(s, '/sys')?.options?.includes('ro'));
  assert.ok(!mount(s, '/sys/fs/cgroup')?.options?.includes('ro'));
  assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  const nul = s.linux.devices.find((d) => d.path === '/dev/null');
  assert.deepEqual(nul && { type: nul.type, major: nul.major, minor: nul.minor }, { type: 'c', major: 1, minor: 3 });
  assert.ok(!s.linux.devices.some((d) => d.path.startsWith('/dev/pts/')));
});

test('read-only rootfs makes the default system mounts read-only too', () => {
  const s = buildSpec(
    input({ ReadonlyRootfs: true }, { extraMounts: [{ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rw'] }] }),
  );
  assert.equal(s.root.readonly, true);
  assert.ok(mount(s, '/sys')?.options?.includes('ro'));
  for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']) assert.ok(!mount(s, d)?.options?.includes('ro'), d);
  assert.deepEqual(mount(s, '/data')?.options, ['rbind', 'rw'], 'user mounts untouched');
  // Privileged still wins for /sys.
  assert.ok(!mount(buildSpec(input({ ReadonlyRootfs: true, Privileged: true })), '/sys')?.options?.includes('ro'));
});

test('tmpfs mounts: docker default options, overrides, validation', () => {
  const s = buildSpec(input({ Tmpfs: { '/run': 'rw,size=64m', '/tmp': '', '/app/cache': 'exec,mode=1777' } }));
  const run = mount(s, '/run');
  assert.equal(run?.type, 'tmpfs');
  assert.equal(run?.source, 'tmpfs');
  for (const o of ['noexec', 'nosuid', 'nodev', 'rw', 'size=64m']) assert.ok(run?.options?.includes(o), o);
  assert.deepEqual(mount(s, '/tmp')?.options, ['noexec', 'nosuid', 'nodev', 'rprivate']);
  const cache = mount(s, '/app/cache')?.options ?? [];
  assert.ok(cache.includes('exec') && !cache.includes('noexec'), 'a later exec overrides the default noexec');
  assert.throws(() => buildSpec(input({ Tmpfs: { '/run': 'size=1m,bogus' } })), /invalid tmpfs option "bogus"/);
  assert.throws(() => buildSpec(input({ Tmpfs: { 'run': '' } })), InvalidArgumentError);
  // A tmpfs on /dev/shm replaces the default one.
  const shm = buildSpec(input({ Tmpfs: { '/dev/shm': 'size=1m' } })).mounts.filter((m) => m.destination === '/dev/shm');
  assert.equal(shm.length, 1);
  assert.ok(shm[0].options?.includes('size=1m'));
});

test('user mounts: replace defaults, sorted parents first; shm size and ipc modes', () => {
  const s = buildSpec(
    input(
      { ShmSize: 128 * 1024 * 1024 },
      {
        extraMounts: [
          { destination: '/data/sub', type: 'bind', source: '/a', options: ['rbind'] },
          { destination: '/data', type: 'bind', source: '/b', options: ['rbind'] },
          { destination: '/etc/hosts', type: 'bind', source: '/h', options: ['rbind', 'ro'] },
        ],
      },
    ),
  );
  const d = dests(s);
  assert.ok(d.indexOf('/data') < d.indexOf('/data/sub'));
  assert.ok(d.indexOf('/dev/shm') < d.indexOf('/data'), 'defaults first');
  assert.ok(mount(s, '/dev/shm')?.options?.includes('size=131072k'));

  const devBind = buildSpec(input({}, { extraMounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }] }));
  assert.deepEqual(
    dests(devBind).filter((x) => x.startsWith('/dev')),
    ['/dev'],
  );

  assert.ok(!dests(buildSpec(input({ IpcMode: 'none' }))).includes('/dev/shm'));
  const ipcHost = buildSpec(input({}, { namespaces: { ipc: 'host' } }));
  assert.deepEqual(mount(ipcHost, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  assert.ok(!ipcHost.linux.namespaces.some((n) => n.type === 'ipc'));
});

test('namespaces: host, join by path; hostname only with a private UTS namespace', () => {
  const s = buildSpec(input({}, { namespaces: { network: 'host', pid: '/proc/123/ns/pid', ipc: 'private', uts: 'host' } }));
  const ns = Object.fromEntries(s.linux.namespaces.map((n) => [n.type, n]));
  assert.equal(ns.network, undefined);
  assert.equal(ns.uts, undefined);
  assert.deepEqual(ns.pid, { type: 'pid', path: '/proc/123/ns/pid' });
  assert.deepEqual(ns.ipc, { type: 'ipc' });
  assert.equal(s.hostname, undefined);
  const netns = buildSpec(input({}, { namespaces: { network: '/var/run/netns/x' } }));
  assert.deepEqual(
    netns.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/var/run/netns/x' },
  );
  assert.ok(!buildSpec(input({ CgroupnsMode: 'host' })).linux.namespaces.some((n) => n.type === 'cgroup'));
  assert.ok(buildSpec(input({ CgroupnsMode: 'private' })).linux.namespaces.some((n) => n.type === 'cgroup'));
});

test('init wraps the command and is mounted read-only', () => {
  const s = buildSpec(input({ Init: true }, { initPath: '/usr/bin/tini' }));
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh', '-c', 'echo hi']);
  assert.deepEqual(mount(s, '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini', options: ['bind', 'ro'] });
});

test('devices, device cgroup rules, sysctls, security options, tty', () => {
  const s = buildSpec(
    input(
      {
        Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
        DeviceCgroupRules: ['c 42:* rmw'],
        Sysctls: { 'net.ipv4.ip_forward': '1' },
        SecurityOpt: ['no-new-privileges:true'],
      },
      { tty: true },
    ),
  );
  const dev = s.linux.devices.find((d) => d.path === '/dev/mynull');
  assert.equal(dev?.type, 'c');
  assert.equal(dev?.major, 1);
  assert.equal(dev?.minor, 3);
  assert.equal(dev?.fileMode, 0o666);
  assert.ok(s.linux.resources.devices.some((r) => r.allow && r.type === 'c' && r.major === 1 && r.minor === 3 && r.access === 'rw'));
  assert.ok(s.linux.resources.devices.some((r) => r.allow && r.type === 'c' && r.major === 42 && r.minor === undefined && r.access === 'rmw'));
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ip_forward': '1' });
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(s.process.terminal, true);
  assert.equal(buildSpec(input({ SecurityOpt: ['no-new-privileges:true'] }, { noNewPrivileges: false })).process.noNewPrivileges, false, 'explicit input wins');
  assert.equal(buildSpec(input({ SecurityOpt: ['systempaths=unconfined'] })).linux.maskedPaths, undefined);
  assert.throws(
    () => buildSpec(input({ Devices: [{ PathOnHost: '/nonexistent-dev', PathInContainer: '', CgroupPermissions: '' }] })),
    /error gathering device information while adding custom device "\/nonexistent-dev"/,
  );
  assert.throws(() => buildSpec(input({ Devices: [{ PathOnHost: '/etc/hostname', PathInContainer: '', CgroupPermissions: '' }] })), /not a device node/);
  assert.throws(() => buildSpec(input({ DeviceCgroupRules: ['x 1:2 rwm'] })), /invalid device cgroup rule format/);
});

test('exec process gets the container capabilities, or all when privileged', () => {
  const base = { args: ['ls'], env: ['A=1'], cwd: '/w', user: { uid: 1000, gid: 1000, additionalGids: [1000, 27] }, tty: false };
  const p = buildExecProcess({ ...base, hostConfig: { CapAdd: ['NET_ADMIN'], CapDrop: ['KILL'] } });
  assert.deepEqual(p.args, ['ls']);
  assert.equal(p.cwd, '/w');
  assert.deepEqual(p.user, { uid: 1000, gid: 1000, additionalGids: [1000, 27] });
  assert.ok(p.capabilities.bounding.includes('CAP_NET_ADMIN'));
  assert.ok(!p.capabilities.effective.includes('CAP_KILL'));
  assert.equal(p.noNewPrivileges, false);
  assert.ok(buildExecProcess({ ...base, hostConfig: {}, privileged: true }).capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.equal(buildExecProcess({ ...base, hostConfig: {}, noNewPrivileges: true }).noNewPrivileges, true);
  assert.match(specToJson(p), /"CAP_NET_ADMIN"/);
});

// ---------------------------------------------------------------- real runc

const RUNC = '/usr/sbin/runc';
const BUSYBOX = '/bin/busybox';
const canRunc = existsSync(RUNC) && existsSync(BUSYBOX) && process.getuid?.() === 0;

function busyboxRootfs(dir: string): void {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777); // runc gives a tmpfs the mode of the directory it covers
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  for (const app of ['sh', 'echo', 'cat', 'id', 'hostname', 'grep', 'touch']) symlinkSync('busybox', join(dir, 'bin', app));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
}

test('runc runs the generated spec (busybox)', { skip: !canRunc && 'needs root, runc and busybox-static' }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  const state = join(tmp, 'state');
  const rand = randomBytes(6).toString('hex');
  const started: string[] = [];
  const runcRun = async (name: string, spec: OciSpec) => {
    const bundle = join(tmp, name);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), specToJson(spec));
    started.push(name);
    const r = spawnSync(RUNC, ['--root', state, 'run', '--bundle', bundle, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  try {
    const rootfs = join(tmp, 'rootfs');
    busyboxRootfs(rootfs);
    const env = ['PATH=/bin'];

    // 1. root with docker's defaults and a pids limit.
    const root = await resolveUser(rootfs, '');
    const id1 = `berth-spec-${rand}-a`;
    const s1 = buildSpec({
      id: id1,
      rootfs,
      env,
      cwd: '/',
      tty: false,
      hostname: 'berthbox',
      user: root,
      args: [
        'sh',
        '-c',
        'id; hostname; cat /proc/self/status | grep CapEff; cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; true',
      ],
      hostConfig: { PidsLimit: 1000, Memory: 64 * 1024 * 1024 },
      cgroupsPath: `/berth-test/${id1}`,
      namespaces: { network: 'private' },
    });
    const r1 = await runcRun(id1, s1);
    assert.equal(r1.code, 0, r1.err);
    const lines1 = r1.out.trim().split('\n');
    assert.match(lines1[0], /^uid=0\(root\) gid=0\(root\)/);
    assert.equal(lines1[1], 'berthbox');
    assert.match(lines1[2], /^CapEff:\s+00000000a80425fb$/, 'docker default capabilities');
    assert.deepEqual(lines1.slice(3), ['1000', String(64 * 1024 * 1024)]);

    // 2. a user with supplementary groups, no capabilities, read-only rootfs and a tmpfs.
    const app = await resolveUser(rootfs, 'app', ['777']);
    assert.deepEqual(app, { uid: 1000, gid: 1000, additionalGids: [1000, 50, 777], home: '/home/app' });
    const id2 = `berth-spec-${rand}-b`;
    const s2 = buildSpec({
      id: id2,
      rootfs,
      env: [...env, `HOME=${app.home}`],
      cwd: '/',
      tty: false,
      hostname: 'b',
      user: app,
      args: ['sh', '-c', 'id; touch /x 2>/dev/null || echo rofs; touch /tmp/ok && echo tmpfs; grep CapBnd /proc/self/status'],
      hostConfig: { ReadonlyRootfs: true, Tmpfs: { '/tmp': 'size=1m' }, CapDrop: ['ALL'] },
      cgroupsPath: `/berth-test/${id2}`,
      namespaces: { network: 'private' },
      noNewPrivileges: true,
    });
    const r2 = await runcRun(id2, s2);
    assert.equal(r2.code, 0, r2.err);
    const lines2 = r2.out.trim().split('\n');
    const m = /^uid=1000\(app\) gid=1000\(app\) groups=(.*)$/.exec(lines2[0]);
    assert.ok(m, lines2[0]);
    assert.deepEqual(m[1].split(',').sort(), ['1000(app)', '50(staff)', '777'], 'the kernel sorts the groups');
    assert.deepEqual(lines2.slice(1), ['rofs', 'tmpfs', 'CapBnd:\t0000000000000000']);

    // 3. privileged: every capability this process can grant, host devices, writable /sys.
    const id3 = `berth-spec-${rand}-c`;
    const s3 = buildSpec({
      id: id3,
      rootfs,
      env,
      cwd: '/',
      tty: false,
      hostname: 'c',
      user: root,
      args: ['sh', '-c', 'grep CapEff /proc/self/status; cat /dev/null && echo devnull; grep " /sys " /proc/mounts'],
      hostConfig: { Privileged: true },
      cgroupsPath: `/berth-test/${id3}`,
      namespaces: { network: 'private' },
    });
    const r3 = await runcRun(id3, s3);
    assert.equal(r3.code, 0, r3.err);
    const lines3 = r3.out.trim().split('\n');
    const ours = /^CapBnd:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    assert.equal(lines3[0], `CapEff:\t${ours}`);
    assert.equal(lines3[1], 'devnull');
    assert.match(lines3[2], /sysfs \/sys sysfs rw,/);
  } finally {
    for (const name of started) spawnSync(RUNC, ['--root', state, 'delete', '-f', name], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
    // The shared parent cgroup, if now empty (rmdir fails harmlessly otherwise).
    const parents = V2 ? ['/sys/fs/cgroup/berth-test'] : readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/berth-test`);
    for (const p of parents) {
      try {
        rmdirSync(p);
      } catch {
        /* absent or in use */
      }
    }
  }
});
