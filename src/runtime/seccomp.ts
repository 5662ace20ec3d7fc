/**
 * Seccomp for containers, as the OCI runtime spec's linux.seccomp.
 *
 * The built-in profile is a deny list: everything is allowed except the
 * system calls that reach kernel state a container does not own — the key
 * rings, BPF and perf, userfaultfd, io_uring, new namespaces, handle-based
 * opens, kernel modules, clocks, swap, reboot — each denied with EPERM
 * unless the container holds the capability that makes it legitimate
 * (CAP_SYS_ADMIN for namespaces and mounts, CAP_SYS_MODULE for modules, …).
 * clone3 answers ENOSYS (its flags sit in memory a filter cannot read), so
 * libc falls back to clone, whose namespace flags the filter can see.
 *
 * `--security-opt seccomp=unconfined` and `--privileged` (whatever the
 * profile) run without a filter; `--security-opt seccomp=<profile JSON>`
 * (the docker CLI sends the file's contents) uses Docker's profile format,
 * with its per-capability and per-architecture includes and excludes
 * resolved here.
 */
import { release as osRelease } from 'node:os';
import { InvalidArgumentError } from '../core/errors.js';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: OciSeccompSyscall[];
}

const EPERM = 1;
const ENOSYS = 38;

/** The libseccomp architectures a container on this host may run: the native one and its compat ABIs. */
export function hostArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case 'x64':
      return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
    case 'arm':
      return ['SCMP_ARCH_ARM'];
    case 'ia32':
      return ['SCMP_ARCH_X86'];
    case 'ppc64':
      return ['SCMP_ARCH_PPC64LE'];
    case 's390x':
      return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'];
    case 'riscv64':
      return ['SCMP_ARCH_RISCV64'];
    default:
      return [];
  }
}

/** Denied system calls, each unless the container has one of the capabilities named (none: denied outright). */
const DENIED: Array<[caps: string[], names: string[]]> = [
  [[], ['add_key', 'keyctl', 'request_key']], // the key rings are not namespaced
  [[], ['userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'uselib', 'nfsservctl', '_sysctl', 'vm86', 'vm86old']],
  [
    ['CAP_SYS_ADMIN'],
    [
      'unshare',
      'setns',
      'mount',
      'umount',
      'umount2',
      'pivot_root',
      'fsopen',
      'fsmount',
      'fsconfig',
      'fspick',
      'move_mount',
      'open_tree',
      'mount_setattr',
      'quotactl',
      'quotactl_fd',
      'lookup_dcookie',
      'fanotify_init',
      'swapon',
      'swapoff',
    ],
  ],
  [['CAP_SYS_ADMIN', 'CAP_BPF'], ['bpf']],
  [['CAP_SYS_ADMIN', 'CAP_PERFMON'], ['perf_event_open']],
  [['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']],
  [['CAP_SYS_MODULE'], ['init_module', 'finit_module', 'delete_module']],
  [['CAP_SYS_BOOT'], ['reboot', 'kexec_load', 'kexec_file_load']],
  [['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64']],
  [['CAP_SYS_PACCT'], ['acct']],
  [['CAP_SYS_RAWIO'], ['iopl', 'ioperm']],
  [['CAP_SYSLOG'], ['syslog']],
  [['CAP_SYS_NICE'], ['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages']],
  [['CAP_SYS_PTRACE'], ['kcmp']],
];

/** clone(2)'s namespace flags (linux/sched.h). */
const CLONE_NS_FLAGS = [0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x02000000];

export function defaultProfile(caps: string[], arch: string = process.arch): OciSeccomp {
  const has = new Set(caps);
  const syscalls: OciSeccompSyscall[] = [];
  const denied = DENIED.filter(([any]) => !any.some((c) => has.has(c))).flatMap(([, names]) => names);
  syscalls.push({ names: [...new Set(denied)].sort(), action: 'SCMP_ACT_ERRNO', errnoRet: EPERM });
  if (!has.has('CAP_SYS_ADMIN')) {
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
    // clone's flags are its first argument, except on s390, where they come second.
    const index = arch === 's390x' ? 1 : 0;
    for (const flag of CLONE_NS_FLAGS) {
      syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM, args: [{ index, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }] });
    }
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: hostArchitectures(arch), syscalls };
}

/** Docker's profile format: what one rule applies to. */
interface DockerFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}
interface DockerRule {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> | null;
  includes?: DockerFilter;
  excludes?: DockerFilter;
}
interface DockerProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }> | null;
  syscalls?: DockerRule[] | null;
}

function kernelAtLeast(min: string): boolean {
  const want = min.split('.').map(Number);
  const have = (/^(\d+)\.(\d+)/.exec(osRelease()) ?? []).slice(1).map(Number);
  for (let i = 0; i < 2; i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

/** A profile in Docker's JSON format, resolved for this container's capabilities and the host's architecture. */
export function profileFromJson(json: string, caps: string[], arch: string = process.arch): OciSeccomp {
  let p: DockerProfile;
  try {
    p = JSON.parse(json) as DockerProfile;
  } catch (e) {
    throw new InvalidArgumentError(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (!p || typeof p.defaultAction !== 'string') throw new InvalidArgumentError('Decoding seccomp profile failed: defaultAction is missing');
  const native = hostArchitectures(arch)[0];
  let architectures = p.architectures ?? [];
  if (p.archMap?.length) {
    const mine = p.archMap.find((m) => m.architecture === native);
    architectures = mine ? [mine.architecture, ...(mine.subArchitectures ?? [])] : [];
  }
  const has = new Set(caps);
  const applies = (r: DockerRule) => {
    const inc = r.includes ?? {};
    const exc = r.excludes ?? {};
    if (inc.caps?.length && !inc.caps.every((c) => has.has(c))) return false;
    if (inc.arches?.length && !inc.arches.some((a) => architectures.includes(a) || hostArchitectures(arch).includes(a) || a === nativeName(arch))) return false;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) return false;
    if (exc.caps?.some((c) => has.has(c))) return false;
    if (exc.arches?.some((a) => a === nativeName(arch) || a === native)) return false;
    return true;
  };
  const syscalls: OciSeccompSyscall[] = [];
  for (const r of p.syscalls ?? []) {
    if (!applies(r)) continue;
    const names = r.names ?? (r.name ? [r.name] : []);
    if (!names.length) throw new InvalidArgumentError('Decoding seccomp profile failed: a rule names no system call');
    syscalls.push({
      names,
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args?.length ? { args: r.args.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}), op: a.op })) } : {}),
    });
  }
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(architectures.length ? { architectures } : {}),
    syscalls,
  };
}

/** Docker's short architecture names in includes/excludes ("amd64", "arm64", …). */
function nativeName(arch: string): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch
  );
}

/**
 * The filter for a container: none, the built-in profile, or the one it was
 * given (`custom`: the value of its `seccomp=` security option, if any).
 */
export function containerSeccomp(custom: string | undefined, privileged: boolean, caps: string[]): OciSeccomp | undefined {
  // As dockerd: privileged runs unfiltered whatever the profile.
  if (privileged || custom === 'unconfined') return undefined;
  if (custom !== undefined && custom !== 'builtin') return profileFromJson(custom, caps);
  return defaultProfile(caps);
}
