/**
 * berthd's settings: flags in dockerd's spelling, and daemon.json with
 * dockerd's keys. A setting given both ways is an error, as in dockerd.
 */
import { readFile } from 'node:fs/promises';
import { type FlagDef, parseFlags } from '../core/flags.js';
import { ramInBytes } from '../core/byte-sizes.js';
import { addRuntimeFlags, parseRuntimeConfig } from '../engine/containers/runtimes.js';
import { type ApiAccess, accessSettings } from './access.js';
import { inRootlessKit, rootlessPaths } from './rootless.js';
import type { ConsoleSettings } from './console.js';

export interface DaemonSettings {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile?: string;
  configFile: string;
  storageDriver?: 'overlay2' | 'vfs';
  logLevel: string;
  /** Bytes a build context may unpack to (max-build-context-size). */
  maxBuildContextSize?: number;
  /** Who may use the API: TLS on TCP listeners and the unix socket's group (see listeners.ts). */
  access: ApiAccess;
  /** `--userns-remap` (daemon.json `userns-remap`): default, USER[:GROUP] or UID[:GID]. */
  usernsRemap?: string;
  /** The authorization policy file (authorization-policy), if any: see audit.ts. */
  authorizationPolicy?: string;
  /** Rootless mode (--rootless, or started by rootlesskit): the user's own paths and socket (rootless.ts). */
  rootless: boolean;
  /** `--metrics-addr` (daemon.json `metrics-addr`): where Prometheus metrics are served; off when unset. */
  metricsAddr?: string;
  /** The web console (console-addr and friends, see console.ts); undefined: off. */
  console?: ConsoleSettings;
  /** Everything daemon.json said, for features that read their own keys. */
  raw: Record<string, unknown>;
}

export const DAEMON_FLAGS: FlagDef[] = [
  { name: 'host', short: 'H', type: 'strings', help: 'Daemon socket(s) to connect to (unix:///path, tcp://ADDR:PORT, fd://)' },
  { name: 'group', short: 'G', type: 'string', help: 'Group for the unix socket (default "docker")' },
  { name: 'tls', type: 'bool', help: 'Use TLS; implied by --tlsverify' },
  { name: 'tlsverify', type: 'bool', help: 'Use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', help: 'Trust certs signed only by this CA (default "~/.docker/ca.pem")' },
  { name: 'tlscert', type: 'string', help: 'Path to TLS certificate file (default "~/.docker/cert.pem")' },
  { name: 'tlskey', type: 'string', help: 'Path to TLS key file (default "~/.docker/key.pem")' },
  { name: 'data-root', type: 'string', help: 'Root directory of persistent Berth state (default "/var/lib/berth")' },
  { name: 'exec-root', type: 'string', help: 'Root directory for execution state files (default "/run/berth")' },
  { name: 'pidfile', short: 'p', type: 'string', help: 'Path to use for daemon PID file' },
  { name: 'config-file', type: 'string', help: 'Daemon configuration file (default "/etc/berth/daemon.json")' },
  { name: 'storage-driver', short: 's', type: 'string', help: 'Storage driver to use (overlay2, vfs)' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")' },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'max-build-context-size', type: 'string', help: 'Largest a build context may unpack to, e.g. 512m, 10g (default 4g)' },
  { name: 'add-runtime', type: 'strings', help: 'Register an additional OCI compatible runtime (name=path)' },
  { name: 'default-runtime', type: 'string', help: 'Default OCI runtime for containers (default "runc")' },
  { name: 'no-new-privileges', type: 'bool', help: 'Set no-new-privileges by default for new containers' },
  { name: 'userns-remap', type: 'string', help: 'User/Group setting for user namespaces (default, USER[:GROUP] or UID[:GID])' },
  { name: 'authorization-policy', type: 'string', help: 'Policy file mapping users, groups and TLS clients to the API actions they may use' },
  { name: 'metrics-addr', type: 'string', help: 'Set default address and port to serve the metrics api on' },
  { name: 'rootless', type: 'bool', help: 'Enable rootless mode; typically used with RootlessKit (on by itself inside rootlesskit)' },
  { name: 'console-addr', type: 'string', help: 'Serve the web console on ADDR:PORT (off by default; loopback unless TLS is set)' },
  { name: 'console-htpasswd', type: 'string', help: 'htpasswd file (bcrypt) of the web console users; without it the first start prints a setup link' },
  { name: 'console-tlscert', type: 'string', help: "TLS certificate of the web console (default: the API's --tlscert when --tls is on)" },
  { name: 'console-tlskey', type: 'string', help: "TLS key of the web console (default: the API's --tlskey when --tls is on)" },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
  { name: 'help', type: 'bool', help: 'Print usage' },
];

/** Flag name → daemon.json key. */
const KEYS: Record<string, string> = {
  host: 'hosts',
  group: 'group',
  tls: 'tls',
  tlsverify: 'tlsverify',
  tlscacert: 'tlscacert',
  tlscert: 'tlscert',
  tlskey: 'tlskey',
  'data-root': 'data-root',
  'exec-root': 'exec-root',
  pidfile: 'pidfile',
  'storage-driver': 'storage-driver',
  'log-level': 'log-level',
  debug: 'debug',
  'max-build-context-size': 'max-build-context-size',
  'default-runtime': 'default-runtime',
  'no-new-privileges': 'no-new-privileges',
  'userns-remap': 'userns-remap',
  'authorization-policy': 'authorization-policy',
  'metrics-addr': 'metrics-addr',
  'console-addr': 'console-addr',
  'console-htpasswd': 'console-htpasswd',
  'console-tlscert': 'console-tlscert',
  'console-tlskey': 'console-tlskey',
};

/** A size as a flag or daemon.json gives it: bytes, or with a unit as Docker writes them ("512m", "10GiB"). */
function parseSize(key: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  let n = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    try {
      n = ramInBytes(v.trim());
    } catch {
      /* invalid */
    }
  }
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid ${key}: ${JSON.stringify(v)}: a size such as 512m or 10g is expected`);
  return n;
}

export async function loadSettings(argv: string[]): Promise<{ settings: DaemonSettings; help: boolean; version: boolean }> {
  const { flags, set, args } = parseFlags(argv, DAEMON_FLAGS);
  if (args.length) throw new Error(`berthd takes no arguments, got "${args.join(' ')}"`);
  const rootlessOn = set.has('rootless') ? flags.rootless === true : inRootlessKit();
  const defaults = rootlessOn ? rootlessPaths() : { dataRoot: '/var/lib/berth', execRoot: '/run/berth', configFile: '/etc/berth/daemon.json', host: undefined };
  const configFile = (flags['config-file'] as string | undefined) ?? defaults.configFile;
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || set.has('config-file')) throw new Error(`unable to configure the daemon with file ${configFile}: ${(err as Error).message}`);
  }
  const conflicts = Object.entries(KEYS)
    .filter(([flag, key]) => set.has(flag) && key in raw)
    .map(([flag, key]) => `${key}: (from flag: ${JSON.stringify(flags[flag])}, from file: ${JSON.stringify(raw[key])})`);
  if (conflicts.length) throw new Error(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`);
  const pick = <T>(flag: string, def: T): T => (set.has(flag) ? flags[flag] : (raw[KEYS[flag]] ?? def)) as T;
  const driver = pick<string | undefined>('storage-driver', undefined);
  if (driver !== undefined && driver !== 'overlay2' && driver !== 'vfs') throw new Error(`error initializing graphdriver: driver not supported: ${driver}`);
  const debug = pick<boolean>('debug', false);
  // The runtimes: daemon.json's and --add-runtime's together (dockerd merges them), checked before anything starts.
  if (set.has('add-runtime')) raw.runtimes = { ...((raw.runtimes as object | undefined) ?? {}), ...addRuntimeFlags(flags['add-runtime'] as string[]) };
  for (const flag of ['default-runtime', 'no-new-privileges']) if (set.has(flag)) raw[KEYS[flag]] = flags[flag];
  try {
    parseRuntimeConfig(raw);
  } catch (err) {
    throw new Error(`unable to configure the daemon with file ${configFile}: configuration validation failed: ${(err as Error).message}`);
  }
  const settings: DaemonSettings = {
    hosts: pick<string[]>('host', defaults.host ? [defaults.host] : []),
    dataRoot: pick('data-root', defaults.dataRoot),
    execRoot: pick('exec-root', defaults.execRoot),
    pidfile: pick<string | undefined>('pidfile', undefined),
    configFile,
    storageDriver: driver as DaemonSettings['storageDriver'],
    logLevel: debug ? 'debug' : pick('log-level', 'info'),
    maxBuildContextSize: parseSize('max-build-context-size', pick<unknown>('max-build-context-size', undefined)),
    authorizationPolicy: pick<string | undefined>('authorization-policy', undefined),
    access: accessSettings((flag) => (set.has(flag) ? flags[flag] : raw[KEYS[flag]!])),
    usernsRemap: pick<string | undefined>('userns-remap', undefined) || undefined,
    rootless: rootlessOn,
    metricsAddr: pick<string | undefined>('metrics-addr', undefined) || undefined,
    raw,
  };
  const consoleAddr = pick<unknown>('console-addr', undefined);
  if (consoleAddr !== undefined && consoleAddr !== '') {
    const str = (k: string) => {
      const v = pick<unknown>(k, undefined);
      if (v !== undefined && typeof v !== 'string') throw new Error(`invalid ${k}: ${JSON.stringify(v)}: a string is expected`);
      return v as string | undefined;
    };
    if (typeof consoleAddr !== 'string') throw new Error(`invalid console-addr: ${JSON.stringify(consoleAddr)}: ADDR:PORT is expected`);
    settings.console = { addr: consoleAddr, htpasswd: str('console-htpasswd'), tlsCert: str('console-tlscert'), tlsKey: str('console-tlskey') };
  }
  return { settings, help: flags.help === true, version: flags.version === true };
}
