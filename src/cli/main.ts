/**
 * `berth`: docker's commands, flags and output, as a client of berthd's
 * Engine API. Only the module of the command being run is loaded.
 */
import { parseFlags, FlagError, flagHelp, type FlagDef } from '../core/flags.js';
import { ApiError, ConnectError } from '../client/client.js';
import { Cli, CliExit, DEFAULT_HOST, type Command } from './cli.js';
import { BERTH_VERSION } from '../core/version.js';
import { ContextError, DEFAULT_CONTEXT, currentContext, readContext } from './contexts.js';
import { TLS_FLAGS, clientTls } from './tls.js';

type Loader = () => Promise<Command>;

const images = () => import('./commands/images.js');
const imageArchives = () => import('./commands/image-archives.js');
const system = () => import('./commands/system.js');
const versionInfo = () => import('./commands/version-info.js');
const systemDf = () => import('./commands/system-df.js');
const systemAudit = () => import('./commands/system-audit.js');
const context = () => import('./commands/context.js');
const containers = () => import('./commands/containers.js');
const runs = () => import('./commands/run.js');
const containerList = () => import('./commands/container-list.js');
const containerStreams = () => import('./commands/container-streams.js');
const distribution = () => import('./commands/distribution.js');
const networks = () => import('./commands/networks.js');
const volumes = () => import('./commands/volumes.js');
const files = () => import('./commands/files.js');
const builds = () => import('./commands/build.js');
const registry = () => import('./commands/registry.js');
const stats = () => import('./commands/stats.js');

/** Command path → loader. Aliases point at the same command. */
const COMMANDS: Record<string, Loader> = {
  images: async () => (await images()).list,
  'image ls': async () => (await images()).list,
  'image list': async () => (await images()).list,
  'image inspect': async () => (await images()).inspect,
  inspect: async () => (await images()).inspectAny,
  'image rm': async () => (await images()).remove,
  'image remove': async () => (await images()).remove,
  rmi: async () => (await images()).remove,
  'image tag': async () => (await images()).tag,
  tag: async () => (await images()).tag,
  'image history': async () => (await images()).history,
  history: async () => (await images()).history,
  'image prune': async () => (await images()).prune,
  'image import': async () => (await imageArchives()).importCmd,
  import: async () => (await imageArchives()).importCmd,
  'image load': async () => (await imageArchives()).load,
  load: async () => (await imageArchives()).load,
  'image save': async () => (await imageArchives()).save,
  save: async () => (await imageArchives()).save,
  build: async () => (await builds()).buildCmd,
  'image build': async () => (await builds()).buildCmd,
  'builder build': async () => (await builds()).buildCmd,
  commit: async () => (await builds()).commitCmd,
  'container commit': async () => (await builds()).commitCmd,
  diff: async () => (await builds()).diffCmd,
  'container diff': async () => (await builds()).diffCmd,
  version: async () => (await versionInfo()).version,
  info: async () => (await versionInfo()).info,
  'system info': async () => (await versionInfo()).info,
  events: async () => (await system()).events,
  'system events': async () => (await system()).events,
  'system df': async () => (await systemDf()).df,
  'system audit': async () => (await systemAudit()).audit,
  run: async () => (await runs()).runCmd,
  'container run': async () => (await runs()).runCmd,
  create: async () => (await runs()).createCmd,
  'container create': async () => (await runs()).createCmd,
  start: async () => (await containers()).startCmd,
  'container start': async () => (await containers()).startCmd,
  stop: async () => (await containers()).stopCmd,
  'container stop': async () => (await containers()).stopCmd,
  restart: async () => (await containers()).restartCmd,
  'container restart': async () => (await containers()).restartCmd,
  kill: async () => (await containers()).killCmd,
  'container kill': async () => (await containers()).killCmd,
  rm: async () => (await containers()).rmCmd,
  'container rm': async () => (await containers()).rmCmd,
  'container remove': async () => (await containers()).rmCmd,
  ps: async () => (await containerList()).psCmd,
  'container ls': async () => (await containerList()).psCmd,
  'container list': async () => (await containerList()).psCmd,
  'container ps': async () => (await containerList()).psCmd,
  logs: async () => (await containerStreams()).logsCmd,
  'container logs': async () => (await containerStreams()).logsCmd,
  wait: async () => (await containers()).waitCmd,
  'container wait': async () => (await containers()).waitCmd,
  rename: async () => (await containers()).renameCmd,
  'container rename': async () => (await containers()).renameCmd,
  pause: async () => (await containers()).pauseCmd,
  'container pause': async () => (await containers()).pauseCmd,
  unpause: async () => (await containers()).unpauseCmd,
  'container unpause': async () => (await containers()).unpauseCmd,
  top: async () => (await containerList()).topCmd,
  'container top': async () => (await containerList()).topCmd,
  update: async () => (await containers()).updateCmd,
  'container update': async () => (await containers()).updateCmd,
  attach: async () => (await containerStreams()).attachCmd,
  'container attach': async () => (await containerStreams()).attachCmd,
  'container prune': async () => (await containers()).pruneCmd,
  'container inspect': async () => (await containerList()).containerInspectCmd,
  exec: async () => (await containerStreams()).execCmd,
  'container exec': async () => (await containerStreams()).execCmd,
  'system check': async () => (await system()).check,
  pull: async () => (await distribution()).pullCmd,
  'image pull': async () => (await distribution()).pullCmd,
  push: async () => (await distribution()).pushCmd,
  'image push': async () => (await distribution()).pushCmd,
  login: async () => (await distribution()).loginCmd,
  logout: async () => (await distribution()).logoutCmd,
  search: async () => (await distribution()).searchCmd,
  'network create': async () => (await networks()).create,
  'network ls': async () => (await networks()).list,
  'network list': async () => (await networks()).list,
  'network inspect': async () => (await networks()).inspect,
  'network rm': async () => (await networks()).remove,
  'network remove': async () => (await networks()).remove,
  'network prune': async () => (await networks()).prune,
  cp: async () => (await files()).cp,
  'container cp': async () => (await files()).cp,
  export: async () => (await files()).exportCmd,
  'container export': async () => (await files()).exportCmd,
  'volume create': async () => (await volumes()).create,
  'volume ls': async () => (await volumes()).list,
  'volume list': async () => (await volumes()).list,
  'volume inspect': async () => (await volumes()).inspect,
  'volume rm': async () => (await volumes()).remove,
  'volume remove': async () => (await volumes()).remove,
  'volume prune': async () => (await volumes()).prune,
  'network connect': async () => (await networks()).connect,
  'network disconnect': async () => (await networks()).disconnect,
  port: async () => (await networks()).port,
  'container port': async () => (await networks()).port,
  'registry serve': async () => (await registry()).serve,
  'registry gc': async () => (await registry()).gc,
  'registry replicate': async () => (await import('./commands/registry-ops.js')).replicate,
  'registry retention': async () => (await import('./commands/registry-ops.js')).retention,
  stats: async () => (await stats()).statsCmd,
  'container stats': async () => (await stats()).statsCmd,
  'context ls': async () => (await context()).ls,
  'context list': async () => (await context()).ls,
  'context inspect': async () => (await context()).inspect,
  'context create': async () => (await context()).create,
  'context use': async () => (await context()).use,
  'context rm': async () => (await context()).rm,
  'context remove': async () => (await context()).rm,
  'plugin ls': async () => (await system()).pluginLs,
  'plugin list': async () => (await system()).pluginLs,
};

const GROUPS = new Set(['image', 'system', 'container', 'network', 'volume', 'registry', 'builder', 'context', 'plugin']);

const GLOBAL_FLAGS: FlagDef[] = [
  {
    name: 'context',
    short: 'c',
    type: 'string',
    help: 'Name of the context to use to connect to the daemon (overrides BERTH_HOST env var and default context set with "berth context use")',
  },
  { name: 'host', short: 'H', type: 'string', help: 'Daemon socket to connect to' },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level' },
  ...TLS_FLAGS,
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
  { name: 'help', type: 'bool', help: 'Print usage' },
];

/** One line per top-level command for `berth --help`, kept here so help loads no command module. */
const SUMMARIES: Record<string, string> = {
  attach: 'Attach local standard input, output, and error streams to a running container',
  build: 'Build an image from a Dockerfile',
  builder: 'Manage builds',
  commit: "Create a new image from a container's changes",
  container: 'Manage containers',
  context: 'Manage contexts',
  cp: 'Copy files/folders between a container and the local filesystem',
  create: 'Create a new container',
  diff: "Inspect changes to files or directories on a container's filesystem",
  events: 'Get real time events from the server',
  exec: 'Execute a command in a running container',
  export: "Export a container's filesystem as a tar archive",
  history: 'Show the history of an image',
  image: 'Manage images',
  images: 'List images',
  import: 'Import the contents from a tarball to create a filesystem image',
  info: 'Display system-wide information',
  inspect: 'Return low-level information on containers, images, networks and volumes',
  kill: 'Kill one or more running containers',
  load: 'Load an image from a tar archive or STDIN',
  login: 'Log in to a registry',
  logout: 'Log out from a registry',
  logs: 'Fetch the logs of a container',
  network: 'Manage networks',
  pause: 'Pause all processes within one or more containers',
  plugin: 'Manage plugins',
  port: 'List port mappings or a specific mapping for the container',
  ps: 'List containers',
  pull: 'Download an image from a registry',
  push: 'Upload an image to a registry',
  registry: 'Run a registry server (serve), collect its garbage (gc), replicate and apply retention',
  rename: 'Rename a container',
  restart: 'Restart one or more containers',
  rm: 'Remove one or more containers',
  rmi: 'Remove one or more images',
  run: 'Create and run a new container from an image',
  save: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  search: 'Search a registry (Docker Hub by default) for images',
  start: 'Start one or more stopped containers',
  stats: 'Display a live stream of container(s) resource usage statistics',
  stop: 'Stop one or more running containers',
  system: 'Manage Berth',
  tag: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  top: 'Display the running processes of a container',
  unpause: 'Unpause all processes within one or more containers',
  update: 'Update configuration of one or more containers',
  version: 'Show the Berth version information',
  volume: 'Manage volumes',
  wait: 'Block until one or more containers stop, then print their exit codes',
};

function topHelp(): string {
  const names = [...new Set(Object.keys(COMMANDS).map((k) => k.split(' ')[0]!))].sort();
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = names.map((n) => `  ${n.padEnd(width)}${SUMMARIES[n] ?? ''}`.trimEnd());
  return `\nUsage:  berth [OPTIONS] COMMAND\n\nA container engine that speaks Docker's language\n\nCommands:\n${lines.join('\n')}\n\nGlobal Options:\n${flagHelp(GLOBAL_FLAGS)}\n\nRun 'berth COMMAND --help' for more information on a command.\n`;
}

function commandHelp(cmd: Command): string {
  return `\nUsage:  berth ${cmd.usage}\n\n${cmd.summary}\n${cmd.flags.length ? `\nOptions:\n${flagHelp(cmd.flags)}\n` : ''}`;
}

function argCountError(path: string, cmd: Command, n: number): string | undefined {
  const { min = 0, max = Infinity } = cmd.args ?? {};
  const plural = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  let msg: string | undefined;
  if (min === max && n !== min) msg = `"berth ${path}" requires exactly ${plural(min)}.`;
  else if (n < min) msg = `"berth ${path}" requires at least ${plural(min)}.`;
  else if (n > max) msg = max === 0 ? `"berth ${path}" accepts no arguments.` : `"berth ${path}" accepts at most ${plural(max)}.`;
  return msg && `${msg}\nSee 'berth ${path} --help'.\n\nUsage:  berth ${cmd.usage}\n\n${cmd.summary}\n`;
}

async function main(argv: string[]): Promise<number> {
  let global;
  try {
    global = parseFlags(argv, GLOBAL_FLAGS, { interspersed: false });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nSee 'berth --help'.\n`);
    return 125;
  }
  const rest = global.args;
  // As `docker --version`: one line, no daemon asked.
  if (global.flags.version) {
    process.stdout.write(`Berth version ${BERTH_VERSION}, build berth\n`);
    return 0;
  }
  if (rest.length === 0 || (global.flags.help && rest.length === 0)) {
    process.stdout.write(topHelp());
    return 0;
  }
  let path = rest[0];
  let args = rest.slice(1);
  if (GROUPS.has(path)) {
    if (args.length === 0 || args[0] === '--help') {
      process.stdout.write(topHelp());
      return 0;
    }
    path = `${path} ${args[0]}`;
    args = args.slice(1);
  }
  const loader = COMMANDS[path];
  if (!loader) {
    process.stderr.write(`berth: '${path}' is not a berth command.\nSee 'berth --help'\n`);
    return 1;
  }
  const cmd = await loader();
  let parsed;
  try {
    parsed = parseFlags(args, [...cmd.flags, { name: 'help', type: 'bool' }], { interspersed: !cmd.stopAtArg });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nSee 'berth ${path} --help'.\n`);
      return 125;
    }
    throw err;
  }
  if (parsed.flags.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  const countErr = argCountError(path, cmd, parsed.args.length);
  if (countErr) {
    process.stderr.write(countErr);
    return 1;
  }

  const envHost = process.env.BERTH_HOST || process.env.DOCKER_HOST || undefined;
  const flagHost = global.flags.host as string | undefined;
  const flagContext = global.flags.context as string | undefined;
  if (flagHost && flagContext) {
    process.stderr.write('conflicting options: either specify --host or --context, not both\n');
    return 1;
  }
  const asUrl = (h: string) => (h.includes('://') ? h : `unix://${h}`);
  const defaultHost = asUrl(flagHost ?? envHost ?? DEFAULT_HOST);
  // As docker: -H or the host variable win over contexts; then --context, BERTH_CONTEXT, config.json's currentContext.
  const contextName = flagHost || (envHost && !flagContext) ? DEFAULT_CONTEXT : flagContext || process.env.BERTH_CONTEXT || currentContext();
  let host = defaultHost;
  if (contextName !== DEFAULT_CONTEXT && !path.startsWith('context ')) {
    try {
      host = readContext(contextName).Endpoints?.docker?.Host ?? defaultHost;
    } catch (err) {
      if (err instanceof ContextError) {
        process.stderr.write(err.message + '\n');
        return 1;
      }
      throw err;
    }
  }
  const cli = new Cli(host, !flagHost && !envHost && contextName === DEFAULT_CONTEXT, contextName, defaultHost);
  try {
    cli.tls = clientTls(global.flags, global.set);
    return (await cmd.run(cli, parsed.args, parsed.flags)) ?? 0;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(err.message + '\n');
      return err.code;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`Error response from daemon: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConnectError) {
      process.stderr.write(err.message + '\n');
      return 1;
    }
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nSee 'berth ${path} --help'.\n`);
      return 125;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    cli.close();
  }
}

// Output piped into a program that stopped reading (`berth logs c | head`): end quietly, as docker does.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`berth: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
