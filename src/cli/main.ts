/**
 * `berth`: docker's commands, flags and output, as a client of berthd's
 * Engine API. Only the module of the command being run is loaded.
 */
import { parseFlags, FlagError, flagHelp, type FlagDef } from '../core/flags.js';
import { ApiError, ConnectError } from '../client/client.js';
import { Cli, CliExit, DEFAULT_HOST, type Command } from './cli.js';

type Loader = () => Promise<Command>;

const images = () => import('./commands/images.js');
const system = () => import('./commands/system.js');
const containers = () => import('./commands/containers.js');
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
  'image import': async () => (await images()).importCmd,
  import: async () => (await images()).importCmd,
  'image load': async () => (await images()).load,
  load: async () => (await images()).load,
  'image save': async () => (await images()).save,
  save: async () => (await images()).save,
  build: async () => (await builds()).buildCmd,
  'image build': async () => (await builds()).buildCmd,
  'builder build': async () => (await builds()).buildCmd,
  commit: async () => (await builds()).commitCmd,
  'container commit': async () => (await builds()).commitCmd,
  diff: async () => (await builds()).diffCmd,
  'container diff': async () => (await builds()).diffCmd,
  version: async () => (await system()).version,
  info: async () => (await system()).info,
  'system info': async () => (await system()).info,
  events: async () => (await system()).events,
  'system events': async () => (await system()).events,
  'system df': async () => (await system()).df,
  run: async () => (await containers()).runCmd,
  'container run': async () => (await containers()).runCmd,
  create: async () => (await containers()).createCmd,
  'container create': async () => (await containers()).createCmd,
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
  ps: async () => (await containers()).psCmd,
  'container ls': async () => (await containers()).psCmd,
  'container list': async () => (await containers()).psCmd,
  'container ps': async () => (await containers()).psCmd,
  logs: async () => (await containers()).logsCmd,
  'container logs': async () => (await containers()).logsCmd,
  wait: async () => (await containers()).waitCmd,
  'container wait': async () => (await containers()).waitCmd,
  rename: async () => (await containers()).renameCmd,
  'container rename': async () => (await containers()).renameCmd,
  pause: async () => (await containers()).pauseCmd,
  'container pause': async () => (await containers()).pauseCmd,
  unpause: async () => (await containers()).unpauseCmd,
  'container unpause': async () => (await containers()).unpauseCmd,
  top: async () => (await containers()).topCmd,
  'container top': async () => (await containers()).topCmd,
  update: async () => (await containers()).updateCmd,
  'container update': async () => (await containers()).updateCmd,
  attach: async () => (await containers()).attachCmd,
  'container attach': async () => (await containers()).attachCmd,
  'container prune': async () => (await containers()).pruneCmd,
  'container inspect': async () => (await containers()).containerInspectCmd,
  exec: async () => (await containers()).execCmd,
  'container exec': async () => (await containers()).execCmd,
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
  stats: async () => (await stats()).statsCmd,
  'container stats': async () => (await stats()).statsCmd,
};

const GROUPS = new Set(['image', 'system', 'container', 'network', 'volume', 'registry', 'builder']);

const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'host', short: 'H', type: 'string', help: 'Daemon socket to connect to' },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level' },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
  { name: 'help', type: 'bool', help: 'Print usage' },
];

function topHelp(): string {
  const names = [...new Set(Object.keys(COMMANDS).map((k) => k.split(' ')[0]))].sort();
  return `\nUsage:  berth [OPTIONS] COMMAND\n\nA container engine that speaks Docker's language\n\nCommands:\n${names.map((n) => `  ${n}`).join('\n')}\n\nGlobal Options:\n${flagHelp(GLOBAL_FLAGS)}\n\nRun 'berth COMMAND --help' for more information on a command.\n`;
}

function commandHelp(path: string, cmd: Command): string {
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
  if (global.flags.version) rest.unshift('version');
  if (rest.length === 0 || (global.flags.help && rest.length === 0)) { process.stdout.write(topHelp()); return 0; }
  let path = rest[0];
  let args = rest.slice(1);
  if (GROUPS.has(path)) {
    if (args.length === 0 || args[0] === '--help') { process.stdout.write(topHelp()); return 0; }
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
  if (parsed.flags.help) { process.stdout.write(commandHelp(path, cmd)); return 0; }
  const countErr = argCountError(path, cmd, parsed.args.length);
  if (countErr) { process.stderr.write(countErr); return 1; }

  const envHost = process.env.BERTH_HOST;
  const host = (global.flags.host as string | undefined) ?? envHost ?? DEFAULT_HOST;
  const cli = new Cli(host.includes('://') ? host : `unix://${host}`, !global.flags.host && !envHost);
  try {
    return (await cmd.run(cli, parsed.args, parsed.flags)) ?? 0;
  } catch (err) {
    if (err instanceof CliExit) { if (err.message) process.stderr.write(err.message + '\n'); return err.code; }
    if (err instanceof ApiError) { process.stderr.write(`Error response from daemon: ${err.message}\n`); return 1; }
    if (err instanceof ConnectError) { process.stderr.write(err.message + '\n'); return 1; }
    if (err instanceof FlagError) { process.stderr.write(`${err.message}\nSee 'berth ${path} --help'.\n`); return 125; }
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    cli.close();
  }
}

// Output piped into a program that stopped reading (`berth logs c | head`): end quietly, as docker does.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (err: Error) => {
  process.stderr.write(`berth: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
