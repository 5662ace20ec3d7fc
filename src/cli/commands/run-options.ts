/**
 * `create` / `run` flags, in docker's spelling, turned into the create
 * request's Config and HostConfig as the docker CLI builds them.
 */
import { readFileSync } from 'node:fs';
import type { FlagDef, FlagValues } from '../../core/flags.js';
import { parseGoDuration } from '../../core/go-time.js';
import { CliExit } from '../cli.js';
import { parsePublish } from '../format/ports.js';
import { keyValues } from './key-values.js';
import { parseMountFlag } from './mount-flag.js';
import { ramInBytes } from './size-flag.js';

/** The resource flags `create`/`run` and `update` share, in docker's order; docker words --memory-swap's help differently in each. */
export function resourceFlags(memorySwapHelp: string): FlagDef[] {
  return [
    { name: 'memory', short: 'm', type: 'string', help: 'Memory limit' },
    { name: 'memory-swap', type: 'string', help: memorySwapHelp },
    { name: 'memory-reservation', type: 'string', help: 'Memory soft limit' },
    { name: 'cpus', type: 'string', help: 'Number of CPUs' },
    { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)' },
    { name: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'blkio-weight', type: 'int', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
  ];
}

export const CREATE_FLAGS: FlagDef[] = [
  { name: 'name', type: 'string', help: 'Assign a name to the container' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'env', short: 'e', type: 'strings', help: 'Set environment variables' },
  { name: 'env-file', type: 'strings', help: 'Read in a file of environment variables' },
  { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'entrypoint', type: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'hostname', short: 'h', type: 'string', help: 'Container host name' },
  { name: 'domainname', type: 'string', help: 'Container NIS domain name' },
  { name: 'label', short: 'l', type: 'strings', help: 'Set meta data on a container' },
  { name: 'label-file', type: 'strings', help: 'Read in a line delimited file of labels' },
  { name: 'init', type: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'stop-signal', type: 'string', help: 'Signal to stop the container' },
  { name: 'stop-timeout', type: 'int', help: 'Timeout (in seconds) to stop a container' },
  { name: 'read-only', type: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'tmpfs', type: 'strings', help: 'Mount a tmpfs directory' },
  { name: 'volume', short: 'v', type: 'strings', help: 'Bind mount a volume' },
  { name: 'mount', type: 'strings', help: 'Attach a filesystem mount to the container' },
  { name: 'volumes-from', type: 'strings', help: 'Mount volumes from the specified container(s)' },
  { name: 'volume-driver', type: 'string', help: 'Optional volume driver for the container' },
  { name: 'shm-size', type: 'string', help: 'Size of /dev/shm' },
  { name: 'pid', type: 'string', help: 'PID namespace to use' },
  { name: 'ipc', type: 'string', help: 'IPC mode to use' },
  { name: 'uts', type: 'string', help: 'UTS namespace to use' },
  { name: 'userns', type: 'string', help: 'User namespace to use' },
  { name: 'runtime', type: 'string', help: 'Runtime to use for this container' },
  { name: 'device', type: 'strings', help: 'Add a host device to the container' },
  { name: 'ulimit', type: 'strings', help: 'Ulimit options' },
  { name: 'privileged', type: 'bool', help: 'Give extended privileges to this container' },
  { name: 'cap-add', type: 'strings', help: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'strings', help: 'Drop Linux capabilities' },
  { name: 'security-opt', type: 'strings', help: 'Security Options' },
  { name: 'group-add', type: 'strings', help: 'Add additional groups to join' },
  ...resourceFlags("Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
  { name: 'oom-kill-disable', type: 'bool', help: 'Disable OOM Killer' },
  { name: 'network', type: 'string', help: 'Connect a container to a network', default: 'default' },
  { name: 'net', type: 'string', help: 'Connect a container to a network', hidden: true },
  { name: 'publish', short: 'p', type: 'strings', help: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', help: 'Publish all exposed ports to random ports' },
  { name: 'expose', type: 'strings', help: 'Expose a port or a range of ports' },
  { name: 'ip', type: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'mac-address', type: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { name: 'network-alias', type: 'strings', help: 'Add network-scoped alias for the container' },
  { name: 'dns', type: 'strings', help: 'Set custom DNS servers' },
  { name: 'dns-search', type: 'strings', help: 'Set custom DNS search domains' },
  { name: 'dns-option', type: 'strings', help: 'Set DNS options' },
  { name: 'add-host', type: 'strings', help: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'link', type: 'strings', help: 'Add link to another container' },
  { name: 'log-driver', type: 'string', help: 'Logging driver for the container' },
  { name: 'log-opt', type: 'strings', help: 'Log driver options' },
  { name: 'sysctl', type: 'strings', help: 'Sysctl options' },
  { name: 'health-cmd', type: 'string', help: 'Command to run to check health' },
  { name: 'health-interval', type: 'string', help: 'Time between running the check' },
  { name: 'health-timeout', type: 'string', help: 'Maximum time to allow one check to run' },
  { name: 'health-retries', type: 'int', help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-period', type: 'string', help: 'Start period for the container to initialize before starting health-retries countdown' },
  { name: 'no-healthcheck', type: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
  { name: 'pull', type: 'string', help: 'Pull image before creating ("always", "missing", "never")', default: 'missing' },
  { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the pull output' },
];

export const RUN_ONLY_FLAGS: FlagDef[] = [
  { name: 'detach', short: 'd', type: 'bool', help: 'Run container in background and print container ID' },
  { name: 'rm', type: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'attach', short: 'a', type: 'strings', help: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'sig-proxy', type: 'bool', help: 'Proxy received signals to the process', default: true },
  { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container' },
];

/** Go duration ("30s", "1m30s", "500ms") → nanoseconds. */
function durationNs(flag: string, v: string): number {
  try {
    return Number(parseGoDuration(v));
  } catch (e) {
    throw new CliExit(125, `invalid argument "${v}" for "--${flag}" flag: ${(e as Error).message}`);
  }
}

function envFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      throw new CliExit(125, `open ${p}: no such file or directory`);
    }
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      out.push(line.includes('=') ? line : process.env[line] !== undefined ? `${line}=${process.env[line]}` : line);
    }
  }
  return out;
}

/**
 * `-e KEY` takes the value from the CLI's own environment, as docker does;
 * a KEY unset here goes as it is (the daemon then leaves it out of the process).
 */
function envFlag(vals: string[]): string[] {
  return vals.map((v) => (v.includes('=') || process.env[v] === undefined ? v : `${v}=${process.env[v]}`));
}

/** `--userns`: only the host's user namespace (or none given) is a mode, as the docker CLI checks. */
function usernsMode(v: string | undefined): string {
  if (v && v !== 'host') throw new CliExit(125, "--userns: invalid USER mode\nSee 'berth run --help'.");
  return v ?? '';
}

function restartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  const [name, count] = v.split(':');
  if (count !== undefined && name !== 'on-failure')
    throw new CliExit(125, `invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (count !== undefined && !/^\d+$/.test(count)) throw new CliExit(125, `invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name ?? 'no', MaximumRetryCount: count ? Number(count) : 0 };
}

function ulimits(vals: string[]): Array<{ Name: string; Soft: number; Hard: number }> {
  return vals.map((v) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
    if (!m) throw new CliExit(125, `invalid argument "${v}" for "--ulimit" flag: invalid ulimit argument: ${v}`);
    return { Name: m[1]!, Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
  });
}

function devices(vals: string[]): Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }> {
  return vals.map((v) => {
    const parts = v.split(':');
    const host = parts[0]!;
    let inCtr = host;
    let perms = 'rwm';
    if (parts.length >= 2) {
      if (/^[rwm]+$/.test(parts[1]!) && parts.length === 2) perms = parts[1]!;
      else inCtr = parts[1]!;
    }
    if (parts.length === 3) perms = parts[2]!;
    return { PathOnHost: host, PathInContainer: inCtr, CgroupPermissions: perms };
  });
}

/** The JSON body of POST /containers/create for `run`/`create` flags. */
export function createRequest(f: FlagValues, image: string, cmd: string[], detached: boolean): Record<string, unknown> {
  const strs = (n: string) => (f[n] as string[] | undefined) ?? [];
  const str = (n: string) => f[n] as string | undefined;
  const attach = strs('attach').map((s) => s.toLowerCase());
  const tty = !!f.tty;
  const interactive = !!f.interactive;
  const labels = { ...keyValues(envFiles(strs('label-file'))), ...keyValues(strs('label')) };
  const health: Record<string, unknown> | undefined = f['no-healthcheck']
    ? { Test: ['NONE'] }
    : str('health-cmd') || str('health-interval') || str('health-timeout') || f['health-retries'] !== undefined || str('health-start-period')
      ? {
          ...(str('health-cmd') ? { Test: ['CMD-SHELL', str('health-cmd')] } : {}),
          ...(str('health-interval') ? { Interval: durationNs('health-interval', str('health-interval')!) } : {}),
          ...(str('health-timeout') ? { Timeout: durationNs('health-timeout', str('health-timeout')!) } : {}),
          ...(str('health-start-period') ? { StartPeriod: durationNs('health-start-period', str('health-start-period')!) } : {}),
          ...(f['health-retries'] !== undefined ? { Retries: f['health-retries'] } : {}),
        }
      : undefined;
  let nanoCpus = 0;
  if (str('cpus')) {
    const n = Number(str('cpus'));
    if (!Number.isFinite(n) || n < 0)
      throw new CliExit(125, `invalid argument "${str('cpus')}" for "--cpus" flag: failed to parse ${str('cpus')} as a rational number`);
    nanoCpus = Math.round(n * 1e9);
  }
  const memory = str('memory') ? ramInBytes('memory', str('memory')!) : 0;
  const swapRaw = str('memory-swap');
  const memorySwap = swapRaw === undefined ? 0 : swapRaw === '-1' ? -1 : ramInBytes('memory-swap', swapRaw);
  const logOpts = keyValues(strs('log-opt'));
  // As the docker CLI: a seccomp profile goes to the daemon as the file's contents.
  const sec = strs('security-opt').map((o) => {
    const m = /^seccomp[=:](.+)$/.exec(o);
    if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return o;
    let text: string;
    try {
      text = readFileSync(m[1]!, 'utf8');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `open ${m[1]}: no such file or directory` : (e as Error).message;
      throw new CliExit(125, `opening seccomp profile (${m[1]}) failed: ${why}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (e) {
      throw new CliExit(125, `compacting json for seccomp profile (${m[1]}) failed: ${(e as Error).message}`);
    }
  });
  const tmpfs = keyValues(strs('tmpfs'), ':');
  const volumes = splitVolumes(strs('volume'));
  const network = str('net') ?? str('network') ?? 'default';
  const { exposed, bindings } = parsePublish(strs('publish'));
  for (const e of strs('expose')) {
    const [ports, proto = 'tcp'] = e.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(ports!);
    if (!m) throw new CliExit(125, `invalid argument "${e}" for "--expose" flag: invalid range format for --expose: ${e}`);
    for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) exposed[`${p}/${proto}`] = {};
  }
  const aliases = strs('network-alias');
  const ip = str('ip');
  const mac = str('mac-address');
  if (mac && !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(mac)) throw new CliExit(125, `${mac} is not a valid mac address`);
  const endpoint =
    aliases.length || ip || mac
      ? { Aliases: aliases.length ? aliases : null, IPAMConfig: ip ? { IPv4Address: ip } : null, ...(mac ? { MacAddress: mac } : {}) }
      : {};
  return {
    Hostname: str('hostname') ?? '',
    Domainname: str('domainname') ?? '',
    User: str('user') ?? '',
    AttachStdin: !detached && (interactive || attach.includes('stdin')),
    AttachStdout: !detached && (attach.length === 0 || attach.includes('stdout')),
    AttachStderr: !detached && (attach.length === 0 || attach.includes('stderr')),
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: interactive && !detached,
    Env: [...envFiles(strs('env-file')), ...envFlag(strs('env'))],
    Cmd: cmd.length ? cmd : null,
    Image: image,
    WorkingDir: str('workdir') ?? '',
    Entrypoint: str('entrypoint') !== undefined ? [str('entrypoint')!] : null,
    Labels: labels,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(str('stop-signal') ? { StopSignal: str('stop-signal') } : {}),
    ...(f['stop-timeout'] !== undefined ? { StopTimeout: f['stop-timeout'] } : {}),
    ...(health ? { Healthcheck: health } : {}),
    ...(volumes.anonymous.length ? { Volumes: Object.fromEntries(volumes.anonymous.map((v) => [v, {}])) } : {}),
    HostConfig: {
      Binds: volumes.binds.length ? volumes.binds : null,
      ...(strs('mount').length ? { Mounts: strs('mount').map(parseMountFlag) } : {}),
      ...(strs('volumes-from').length ? { VolumesFrom: strs('volumes-from') } : {}),
      ...(str('volume-driver') ? { VolumeDriver: str('volume-driver') } : {}),
      NetworkMode: network,
      PortBindings: bindings,
      PublishAllPorts: !!f['publish-all'],
      RestartPolicy: restartPolicy(str('restart') ?? 'no'),
      AutoRemove: !!f.rm,
      CapAdd: strs('cap-add'),
      CapDrop: strs('cap-drop'),
      Dns: strs('dns'),
      DnsOptions: strs('dns-option'),
      DnsSearch: strs('dns-search'),
      ExtraHosts: strs('add-host'),
      Links: strs('link').length ? strs('link') : null,
      GroupAdd: strs('group-add'),
      IpcMode: str('ipc') ?? '',
      PidMode: str('pid') ?? '',
      UTSMode: str('uts') ?? '',
      UsernsMode: usernsMode(str('userns')),
      ...(str('runtime') ? { Runtime: str('runtime') } : {}),
      // The terminal's size from the start, so the first thing the process draws fits (as the docker CLI sends it).
      ...(tty && process.stdout.isTTY && process.stdout.rows ? { ConsoleSize: [process.stdout.rows, process.stdout.columns] } : {}),
      Privileged: !!f.privileged,
      ReadonlyRootfs: !!f['read-only'],
      SecurityOpt: sec.length ? sec : null,
      Tmpfs: Object.keys(tmpfs).length ? tmpfs : null,
      ...(str('shm-size') ? { ShmSize: ramInBytes('shm-size', str('shm-size')!) } : {}),
      Init: f.init ? true : null,
      Memory: memory,
      MemorySwap: memorySwap,
      MemoryReservation: str('memory-reservation') ? ramInBytes('memory-reservation', str('memory-reservation')!) : 0,
      NanoCpus: nanoCpus,
      CpuShares: (f['cpu-shares'] as number | undefined) ?? 0,
      CpuQuota: (f['cpu-quota'] as number | undefined) ?? 0,
      CpuPeriod: (f['cpu-period'] as number | undefined) ?? 0,
      CpusetCpus: str('cpuset-cpus') ?? '',
      CpusetMems: str('cpuset-mems') ?? '',
      PidsLimit: (f['pids-limit'] as number | undefined) ?? null,
      BlkioWeight: (f['blkio-weight'] as number | undefined) ?? 0,
      OomKillDisable: f['oom-kill-disable'] ? true : null,
      Devices: devices(strs('device')),
      Ulimits: ulimits(strs('ulimit')),
      Sysctls: keyValues(strs('sysctl')),
      LogConfig: { Type: str('log-driver') ?? '', Config: logOpts },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: endpoint } },
  };
}

/** `-v`: a lone container path is an anonymous volume (Config.Volumes); anything else a bind or named volume. */
function splitVolumes(vals: string[]): { binds: string[]; anonymous: string[] } {
  const binds: string[] = [];
  const anonymous: string[] = [];
  for (const v of vals) {
    if (!v) throw new CliExit(125, 'invalid argument "" for "-v, --volume" flag: invalid empty volume spec');
    if (v.split(':').length === 1) anonymous.push(v);
    else binds.push(v);
  }
  return { binds, anonymous };
}
