/** The host platform in OCI terms, and platform strings ("linux/amd64") read as containerd reads them. */
import type { Platform } from '../core/wire/descriptor.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'windows',
  'zos',
]);
const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);

function normalizeOS(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

function normalizeArch(arch: string, variant: string): { architecture: string; variant?: string } {
  const a = arch.toLowerCase();
  let v = variant.toLowerCase();
  const out = (architecture: string, vv: string) => (vv ? { architecture, variant: vv } : { architecture });
  switch (a) {
    case 'i386':
      return out('386', '');
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return out('amd64', v === 'v1' ? '' : v);
    case 'aarch64':
    case 'arm64':
      return out('arm64', v === '8' || v === 'v8' ? '' : v);
    case 'armhf':
      return out('arm', 'v7');
    case 'armel':
      return out('arm', 'v6');
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = 'v' + v;
      return out('arm', v);
    default:
      return out(a, v);
  }
}

/**
 * "linux/amd64" → Platform, read as containerd's platforms.Parse reads it
 * (dockerd's parser), with its error words: "os", "arch", "os/arch",
 * "os/arch/variant", normalised (x86_64 → amd64, aarch64 → arm64, …).
 */
export function parsePlatform(s: string): Platform {
  const invalid = (msg: string) => new Error(`${msg}: invalid argument`);
  if (s.includes('*')) throw invalid(`${JSON.stringify(s)}: wildcards not yet supported`);
  const parts = s.split('/');
  for (const p of parts) {
    if (!/^[A-Za-z0-9_-]+$/.test(p))
      throw invalid(`${JSON.stringify(p)} is an invalid component of ${JSON.stringify(s)}: platform specifier component must match "^[A-Za-z0-9_-]+$"`);
  }
  if (parts.length === 1) {
    const os = normalizeOS(parts[0]!);
    if (KNOWN_OS.has(os)) return { ...hostPlatform(), os };
    const a = normalizeArch(parts[0]!, '');
    if (a.architecture === 'arm' && a.variant === 'v7') delete a.variant;
    if (KNOWN_ARCH.has(a.architecture)) return { os: 'linux', ...a };
    throw invalid(`${JSON.stringify(s)}: unknown operating system or architecture`);
  }
  if (parts.length === 2) {
    const a = normalizeArch(parts[1]!, '');
    if (a.architecture === 'arm' && a.variant === 'v7') delete a.variant;
    return { os: normalizeOS(parts[0]!), ...a };
  }
  if (parts.length === 3) return { os: normalizeOS(parts[0]!), ...normalizeArch(parts[1]!, parts[2]!) };
  throw invalid(`${JSON.stringify(s)}: cannot parse platform specifier`);
}
