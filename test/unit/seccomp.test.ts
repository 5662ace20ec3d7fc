/**
 * The seccomp filter a container gets: the built-in deny list shaped by the
 * container's capabilities, none when unconfined or privileged, and Docker's
 * profile format resolved for capabilities and architecture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSeccomp, defaultProfile, profileFromJson } from '../../src/runtime/seccomp.js';
import { DEFAULT_CAPS } from '../../src/engine/containers/oci/capabilities.js';
import { containerSpec as buildSpec } from '../../src/engine/containers/oci/spec.js';

const denied = (p: ReturnType<typeof defaultProfile>) => new Set(p.syscalls!.filter((s) => !s.args).flatMap((s) => s.names));

test('the built-in profile denies what the capabilities do not cover, and lets CAP_SYS_ADMIN create namespaces', () => {
  const p = defaultProfile(DEFAULT_CAPS, 'x64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const names = denied(p);
  for (const n of [
    'keyctl',
    'add_key',
    'request_key',
    'unshare',
    'setns',
    'mount',
    'bpf',
    'perf_event_open',
    'userfaultfd',
    'open_by_handle_at',
    'init_module',
    'reboot',
    'clock_settime',
    'io_uring_setup',
  ]) {
    assert.ok(names.has(n), `${n} is denied`);
  }
  for (const n of ['read', 'write', 'clone', 'execve', 'chown', 'chroot', 'kill']) assert.ok(!names.has(n), `${n} is allowed`);
  assert.equal(p.syscalls!.find((s) => s.names.includes('clone3'))!.errnoRet, 38, 'clone3 answers ENOSYS, so libc falls back to clone');
  const cloneRules = p.syscalls!.filter((s) => s.names.includes('clone'));
  assert.equal(cloneRules.length, 7, 'one rule per namespace flag');
  assert.ok(cloneRules.every((r) => r.args![0]!.op === 'SCMP_CMP_MASKED_EQ' && r.args![0]!.value === r.args![0]!.valueTwo && r.args![0]!.index === 0));
  assert.ok(
    cloneRules.some((r) => r.args![0]!.value === 0x10000000),
    'CLONE_NEWUSER',
  );

  const admin = defaultProfile([...DEFAULT_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME'], 'x64');
  const allowed = denied(admin);
  for (const n of ['unshare', 'setns', 'mount', 'clock_settime', 'settimeofday']) assert.ok(!allowed.has(n), `${n} allowed with its capability`);
  assert.ok(allowed.has('keyctl'), 'the key rings stay denied');
  assert.ok(!admin.syscalls!.some((s) => s.names.includes('clone') || s.names.includes('clone3')));
  assert.equal(defaultProfile(DEFAULT_CAPS, 's390x').syscalls!.find((s) => s.names.includes('clone'))!.args![0]!.index, 1);
});

/** The filter buildSpec gives a container with these security options. */
const filterFor = (securityOpt: string[] | null, privileged = false) =>
  buildSpec({
    id: 'c1',
    rootfs: '/var/lib/berth/rootfs/c1',
    args: ['true'],
    env: [],
    cwd: '/',
    hostname: 'c1',
    user: { uid: 0, gid: 0, additionalGids: [] },
    tty: false,
    hostConfig: { SecurityOpt: securityOpt, Privileged: privileged },
    cgroupsPath: '/berth/c1',
  }).linux.seccomp;

test('unconfined and privileged run unfiltered; builtin and no option get the default', () => {
  assert.equal(filterFor(['seccomp=unconfined']), undefined);
  assert.equal(filterFor(['seccomp:unconfined']), undefined);
  assert.equal(filterFor(null, true), undefined);
  assert.equal(filterFor([`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO' })}`], true), undefined);
  assert.deepEqual(filterFor(['seccomp=builtin']), defaultProfile(DEFAULT_CAPS));
  assert.deepEqual(filterFor(['no-new-privileges']), defaultProfile(DEFAULT_CAPS));
  assert.deepEqual(containerSeccomp(undefined, false, DEFAULT_CAPS), defaultProfile(DEFAULT_CAPS));
  // A profile's JSON, full of ':' and '=', reaches the parser whole.
  const json = JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }],
  });
  assert.deepEqual(filterFor([`seccomp=${json}`]), profileFromJson(json, DEFAULT_CAPS));
});

test("Docker's profile format: archMap, includes and excludes by capability and architecture, errors", () => {
  const json = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['chown'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  const plain = profileFromJson(json, DEFAULT_CAPS, 'x64');
  assert.deepEqual(plain.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(plain.defaultErrnoRet, 1);
  assert.deepEqual(
    plain.syscalls!.map((s) => s.names[0]),
    ['read', 'chown', 'arch_prctl', 'personality'],
  );
  assert.deepEqual(plain.syscalls![3]!.args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
  assert.deepEqual(
    profileFromJson(json, [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], 'x64').syscalls!.map((s) => s.names[0]),
    ['read', 'mount', 'arch_prctl', 'personality'],
  );
  const arm = profileFromJson(json, DEFAULT_CAPS, 'arm64');
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(!arm.syscalls!.some((s) => s.names.includes('arch_prctl')));
  for (const bad of ['{not json', '[]', '{"syscalls":[]}', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]}']) {
    assert.throws(
      () => profileFromJson(bad, DEFAULT_CAPS),
      (e: Error & { status?: number }) => /^Decoding seccomp profile failed/.test(e.message) && e.status === 400,
      bad,
    );
  }
});
