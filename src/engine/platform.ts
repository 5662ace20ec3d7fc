/** The host platform in OCI terms. */
export interface Platform { os: string; architecture: string; variant?: string }

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

/** "linux/amd64" → Platform; throws on a malformed string. */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) throw new Error(`invalid platform: "${s}"`);
  const arch = parts[1] === 'x86_64' ? 'amd64' : parts[1] === 'aarch64' ? 'arm64' : parts[1];
  return parts[2] ? { os: parts[0], architecture: arch, variant: parts[2] } : { os: parts[0], architecture: arch };
}
