/**
 * The OCI runtimes a container may run with, as dockerd's `runtimes` and
 * `default-runtime` (daemon.json, or `--add-runtime name=path` and
 * `--default-runtime`) name them: `runc` always, plus each configured entry
 * with its binary and the global arguments it gets before every command
 * (`runtimeArgs`). A secure runtime (gVisor's runsc, Kata) is one such entry.
 *
 * A container keeps its runtime's name (HostConfig.Runtime); every runtime
 * call for it — the shim's create and exec, start, kill, pause, delete, and
 * the same after a berthd restart — goes to that runtime (`ContainerRuntimes`),
 * each with its own state root under the exec root.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, SystemError } from '../../core/errors.js';
import { which } from '../../core/proc.js';
import { Runc } from '../../runtime/runc.js';

/** The runtime every container gets unless it or daemon.json names another. */
export const STOCK_RUNTIME = 'runc';
/** Names that mean the stock runc, as dockerd lists them. */
const STOCK_ALIASES = ['runc', 'io.containerd.runc.v2'];

export interface RuntimeEntry {
  path: string;
  runtimeArgs?: string[];
}

/** daemon.json `runtimes` and `default-runtime` checked with dockerd's words; throws an Error to stop berthd's start. */
export function parseRuntimeConfig(config: Record<string, unknown>): { entries: Map<string, RuntimeEntry>; defaultName: string } {
  const entries = new Map<string, RuntimeEntry>();
  const given = config.runtimes;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new Error('runtimes: a map of runtime names to {"path": …, "runtimeArgs": […]} is expected');
  }
  for (const [name, v] of Object.entries((given ?? {}) as Record<string, unknown>)) {
    if (STOCK_ALIASES.includes(name)) throw new Error(`runtime name '${name}' is reserved`);
    if (!name || /[\0\n]/.test(name)) throw new Error(`invalid runtime name ${JSON.stringify(name)}`);
    const e = v as { path?: unknown; runtimeArgs?: unknown } | null;
    if (!e || typeof e !== 'object' || typeof e.path !== 'string' || !e.path) throw new Error(`runtime '${name}': a "path" is required`);
    const args = e.runtimeArgs ?? [];
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new Error(`runtime '${name}': "runtimeArgs" must be a list of strings`);
    entries.set(name, { path: e.path, ...(args.length ? { runtimeArgs: args as string[] } : {}) });
  }
  const def = config['default-runtime'];
  if (def !== undefined && typeof def !== 'string') throw new Error('default-runtime: a runtime name is expected');
  const defaultName = def || STOCK_RUNTIME;
  if (defaultName !== STOCK_RUNTIME && !entries.has(defaultName)) throw new Error(`specified default runtime '${defaultName}' does not exist`);
  return { entries, defaultName };
}

/** `--add-runtime name=path` values → daemon.json `runtimes` entries, refused in dockerd's words. */
export function addRuntimeFlags(values: string[]): Record<string, RuntimeEntry> {
  const out: Record<string, RuntimeEntry> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw new Error(`invalid argument "${v}" for "--add-runtime" flag: invalid runtime argument: ${v}`);
    out[v.slice(0, i)] = { path: v.slice(i + 1) };
  }
  return out;
}

/** The configured runtimes: names, the default, one `Runc` driver each. */
export class RuntimeTable {
  readonly entries: Map<string, RuntimeEntry>;
  readonly defaultName: string;
  private readonly drivers = new Map<string, Runc>();

  constructor(
    config: Record<string, unknown>,
    private readonly execRoot: string,
    private readonly stockBinary = 'runc',
  ) {
    ({ entries: this.entries, defaultName: this.defaultName } = parseRuntimeConfig(config));
  }

  has(name: string): boolean {
    return STOCK_ALIASES.includes(name) || this.entries.has(name);
  }

  /** The driver for a runtime name; its state root is its own (runc's stays where it always was). */
  driver(name: string): Runc {
    const key = STOCK_ALIASES.includes(name) ? STOCK_RUNTIME : name;
    let d = this.drivers.get(key);
    if (d) return d;
    if (key === STOCK_RUNTIME) d = new Runc(which(this.stockBinary) ?? this.stockBinary, join(this.execRoot, 'runc'));
    else {
      const e = this.entries.get(key);
      if (!e) throw new InvalidArgumentError(`Unknown runtime specified ${name}`);
      // The name becomes one path component whatever it holds ("a/b", "..").
      d = new Runc(which(e.path) ?? e.path, join(this.execRoot, `runtime-${encodeURIComponent(key)}`), e.runtimeArgs ?? []);
    }
    this.drivers.set(key, d);
    return d;
  }

  /** docker info's `Runtimes`: dockerd's shape, {"name": {"path": …, "runtimeArgs": […]}}. */
  info(): Record<string, RuntimeEntry> {
    const out: Record<string, RuntimeEntry> = {};
    // runc alone for the stock runtime: dockerd's containerd shim names (accepted here too) are not runtimes Berth runs.
    out[STOCK_RUNTIME] = { path: this.stockBinary };
    for (const [n, e] of this.entries) out[n] = { ...e };
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/**
 * The runtime of each container, by its ID: the calls the engine makes with
 * a container ID go to the runtime that container was created with.
 */
export class ContainerRuntimes {
  constructor(
    readonly table: RuntimeTable,
    private readonly runtimeName: (id: string) => string | undefined,
  ) {}

  /** The container's runtime; a container whose runtime is no longer configured gets dockerd's error. */
  of(id: string): Runc {
    return this.table.driver(this.runtimeName(id) || this.table.defaultName);
  }

  /** The runtime to start a container with, its binary checked first so a missing one is a clear error. */
  forStart(id: string): Runc {
    const r = this.of(id);
    try {
      accessSync(r.binary, fsConstants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SystemError(
        `OCI runtime create failed: fork/exec ${r.binary}: ${code === 'EACCES' ? 'permission denied' : 'no such file or directory'}: unknown`,
      );
    }
    return r;
  }

  state(id: string) {
    return this.of(id).state(id);
  }
  start(id: string, initPid?: number) {
    return this.of(id).start(id, initPid);
  }
  deleteExited(id: string) {
    return this.of(id).deleteExited(id);
  }
  kill(id: string, signal: string | number, all = false) {
    return this.of(id).kill(id, signal, all);
  }
  delete(id: string, force = false) {
    return this.of(id).delete(id, force);
  }
  pause(id: string) {
    return this.of(id).pause(id);
  }
  resume(id: string) {
    return this.of(id).resume(id);
  }
  update(id: string, resources: object) {
    return this.of(id).update(id, resources);
  }
  ps(id: string) {
    return this.of(id).ps(id);
  }
}
