/**
 * Turning a create request into a container: the image's config merged
 * under the request's, as Docker's daemon does, and the request checked.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { ImageConfig } from '../images/types.js';
import { parsePlatform } from '../platform.js';
import type { Platform } from '../../core/wire/descriptor.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { checkCaps } from './oci/capabilities.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** Image env first, then the request's, a later KEY replacing an earlier one. */
export function mergeEnv(...lists: Array<string[] | null | undefined>): string[] {
  const out = new Map<string, string>();
  for (const l of lists) for (const e of l ?? []) out.set(envKey(e), e);
  return [...out.values()];
}

/**
 * dockerd's merge of the image's Env under the request's: the request's
 * entries first, in its order, then the image's whose names it does not
 * give (a bare `NAME` — unset on the client's host — hides the image's).
 */
export function mergeCreateEnv(image: string[] | null | undefined, req: string[] | null | undefined): string[] | null {
  if (!req?.length) return image?.length ? [...image] : null;
  const given = new Set(req.map(envKey));
  return [...req, ...(image ?? []).filter((e) => !given.has(envKey(e)))];
}

/**
 * The process environment, as dockerd builds it at start: its defaults
 * (PATH, HOSTNAME, TERM, links) replaced or extended by the container's
 * Env; a bare `NAME` there unsets NAME and is never passed on.
 */
export function processEnv(defaults: string[], env: string[] | null | undefined): string[] {
  const out = new Map<string, string | null>(defaults.map((e) => [envKey(e), e]));
  for (const e of env ?? []) out.set(envKey(e), e.includes('=') ? e : null);
  return [...out.values()].filter((e): e is string => e !== null);
}

/** The `platform` of a create request, refused in dockerd's words when it does not parse. */
export function createPlatform(s: string): Platform {
  try {
    return parsePlatform(s);
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(s)}: cannot parse platform specifier: invalid argument`);
  }
}

/** dockerd treats a local image built for another platform than asked as missing (the CLI then pulls). */
export function checkImagePlatform(ref: string, want: Platform, img: ImageConfig): void {
  const fmt = (p: { os: string; architecture: string; variant?: string }) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');
  const ok = want.os === img.os && want.architecture === img.architecture && (!want.variant || !img.variant || want.variant === img.variant);
  if (!ok) throw new NotFoundError(`image with reference ${ref} was found but does not match the specified platform: wanted ${fmt(want)}, actual: ${fmt(img)}`);
}

/** The container's Config: request fields win; Cmd comes from the image only when Entrypoint does too. */
export function mergeConfig(req: ContainerConfig, image: ContainerConfig | undefined): ContainerConfig {
  const img = image ?? {};
  const out: ContainerConfig = { ...req };
  out.Env = mergeCreateEnv(img.Env, req.Env);
  const reqEntry = req.Entrypoint?.length ? req.Entrypoint : null;
  if (reqEntry) {
    // `--entrypoint ""` arrives as [""]: reset, and the image's Cmd does not apply either.
    out.Entrypoint = reqEntry.length === 1 && reqEntry[0] === '' ? null : reqEntry;
    out.Cmd = req.Cmd?.length ? req.Cmd : null;
  } else {
    out.Entrypoint = img.Entrypoint ?? null;
    out.Cmd = req.Cmd?.length ? req.Cmd : (img.Cmd ?? null);
  }
  out.WorkingDir = req.WorkingDir || img.WorkingDir || '';
  out.User = req.User || img.User || '';
  out.Labels = { ...(img.Labels ?? {}), ...(req.Labels ?? {}) };
  out.ExposedPorts = img.ExposedPorts || req.ExposedPorts ? { ...(img.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) } : undefined;
  const volumes = { ...(img.Volumes ?? {}), ...(req.Volumes ?? {}) };
  out.Volumes = Object.keys(volumes).length ? volumes : null;
  out.StopSignal = req.StopSignal || img.StopSignal;
  out.Healthcheck = req.Healthcheck ?? img.Healthcheck;
  out.OnBuild = null;
  out.Tty = !!req.Tty;
  out.OpenStdin = !!req.OpenStdin;
  out.StdinOnce = !!req.StdinOnce;
  out.AttachStdin = !!req.AttachStdin;
  out.AttachStdout = !!req.AttachStdout;
  out.AttachStderr = !!req.AttachStderr;
  out.Domainname = req.Domainname ?? '';
  if (out.WorkingDir && !out.WorkingDir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${out.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  return out;
}

/** Path and Args as Docker reports them; a container needs something to run. */
export function commandOf(cfg: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  if (argv.length === 0) throw new InvalidArgumentError('no command specified');
  return { path: argv[0]!, args: argv.slice(1) };
}

const RESTART = new Set(['', 'no', 'always', 'on-failure', 'unless-stopped']);
const SIGNALS = /^(SIG)?[A-Z0-9+-]+$|^\d+$/;

/** Docker's checks on a HostConfig, with its messages. */
export function validateHostConfig(h: HostConfig, cfg: ContainerConfig): void {
  const rp = h.RestartPolicy;
  if (rp) {
    if (!RESTART.has(rp.Name ?? ''))
      throw new InvalidArgumentError(`invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    if (rp.Name !== 'on-failure' && (rp.MaximumRetryCount ?? 0) !== 0)
      throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    if ((rp.MaximumRetryCount ?? 0) < 0) throw new InvalidArgumentError('invalid restart policy: maximum retry count cannot be negative');
    if (h.AutoRemove && rp.Name && rp.Name !== 'no') throw new InvalidArgumentError(`conflicting options: cannot specify both --restart and --rm`);
  }
  if (cfg.StopSignal && !SIGNALS.test(cfg.StopSignal.toUpperCase())) throw new InvalidArgumentError(`invalid signal: ${cfg.StopSignal}`);
  if ((h.Memory ?? 0) > 0 && h.Memory! < 6 * 1024 * 1024) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  if ((h.MemoryReservation ?? 0) > 0 && (h.Memory ?? 0) > 0 && h.MemoryReservation! > h.Memory!) {
    throw new InvalidArgumentError('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  checkCpus(h.NanoCpus ?? 0, availableParallelism());
  checkPortBindings(h.PortBindings);
  checkSecurityOpts(h.SecurityOpt);
  checkCaps(h.CapAdd, h.CapDrop);
}

/** A container may ask for at most the CPUs this host has (dockerd's check, at create and update). */
export function checkCpus(nanoCpus: number, hostCpus: number): void {
  if (nanoCpus < 0 || nanoCpus > hostCpus * 1e9) {
    throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`);
  }
}

/** `80`, `8000-8010`: a port number or range within 1..65535 (0 allowed as a range end only where Docker does). */
function validPortRange(s: string): boolean {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return false;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start <= 65535 && end <= 65535 && start <= end;
}

/** Keys `port[/proto]` with a real container port, host ports a number or range, as dockerd checks them. */
export function checkPortBindings(pb: HostConfig['PortBindings']): void {
  for (const [key, bindings] of Object.entries(pb ?? {})) {
    const port = key.split('/')[0]!;
    if (!validPortRange(port) || Number(port.split('-')[0]) === 0) throw new InvalidArgumentError(`invalid port specification: ${JSON.stringify(port)}`);
    for (const b of bindings ?? []) {
      if (b?.HostPort && !validPortRange(b.HostPort)) throw new InvalidArgumentError(`invalid port specification: ${JSON.stringify(b.HostPort)}`);
    }
  }
}

/** Go's strconv.ParseBool, which dockerd uses for security options. */
export function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

const SECURITY_OPT_KEYS = new Set(['label', 'apparmor', 'seccomp', 'no-new-privileges', 'writable-cgroups', 'systempaths']);

/** `--security-opt` values dockerd would take, refused in its words otherwise. */
export function checkSecurityOpts(opts: string[] | null | undefined): void {
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges' || opt === 'writable-cgroups' || opt === 'disable') continue;
    const i = opt.includes('=') ? opt.indexOf('=') : opt.indexOf(':');
    if (i < 0) throw new InvalidArgumentError(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    if (!SECURITY_OPT_KEYS.has(k)) throw new InvalidArgumentError(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    if ((k === 'no-new-privileges' || k === 'writable-cgroups') && goBool(v) === undefined) {
      throw new InvalidArgumentError(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
}
