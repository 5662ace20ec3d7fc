/**
 * The OCI runtime (runc, or any runtime with its command line: crun, runsc)
 * driven through its CLI, with the global arguments its configuration gives
 * (daemon.json `runtimeArgs`) before every command. One state root per daemon
 * and runtime, so two daemons never see each other's containers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { readFile, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NotFoundError, SystemError, ConflictError } from '../core/errors.js';
import { run } from '../core/proc.js';
import { alive } from './shim.js';

export interface RuntimeState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
    /** Global arguments before the state root and the command (runtimeArgs). */
    readonly globalArgs: readonly string[] = [],
  ) {}

  /** The arguments before a command: the configured global ones, then the state root. */
  cliArgs(): string[] {
    return [...this.globalArgs, '--root', this.root];
  }

  /** Plain runc, called as itself: its own files may be handled directly (no arguments of the user's to honour). */
  private get plainRunc(): boolean {
    return basename(this.binary) === 'runc' && this.globalArgs.length === 0;
  }

  private async call(args: string[], input?: string): Promise<string> {
    const r = await run(this.binary, [...this.cliArgs(), ...args], input === undefined ? {} : { input });
    if (r.code !== 0) {
      const msg = (r.stderr.trim().split('\n').pop() ?? '').replace(/^time="[^"]*" level=\w+ msg="?/, '').replace(/"$/, '');
      if (/does not exist|not exist/.test(msg)) throw new NotFoundError(`container ${args[args.length - 1]} does not exist in the runtime`);
      if (/not running|is paused|is stopped|cannot (pause|resume)/.test(msg)) throw new ConflictError(msg);
      throw new SystemError(`${this.binary} ${args[0]}: ${msg || `exit status ${r.code}`}`);
    }
    return r.stdout;
  }

  async state(id: string): Promise<RuntimeState | null> {
    try {
      return JSON.parse(await this.call(['state', id])) as RuntimeState;
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /**
   * Start a created container. runc's own `start` only reads one byte from
   * the container's exec FIFO (the init is blocked writing it) and unlinks
   * it; doing that here saves an exec of runc on every start. Any other
   * runtime, or a runc without the FIFO, gets its `start` command.
   */
  async start(id: string, initPid?: number): Promise<void> {
    if (initPid && this.plainRunc && (await releaseExecFifo(join(this.root, id, 'exec.fifo'), initPid))) return;
    await this.call(['start', id]);
  }

  /**
   * Remove what runc keeps for a container whose processes have all exited:
   * its cgroups and its state dir, the whole of `runc delete` for such a
   * container. Done here because that exec is on the way from every exit to
   * `wait` returning; anything unusual (a process left in the cgroup, hooks,
   * Intel RDT) goes to `runc delete --force`.
   */
  async deleteExited(id: string): Promise<void> {
    const dir = join(this.root, id);
    let state: { cgroup_paths?: Record<string, string>; intel_rdt_path?: string; config?: { hooks?: Record<string, unknown[]> } };
    try {
      state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as typeof state;
    } catch {
      return this.delete(id, true);
    }
    const hooks = Object.values(state.config?.hooks ?? {}).some((h) => h?.length);
    if (!this.plainRunc || hooks || state.intel_rdt_path) return this.delete(id, true);
    try {
      // One per controller on cgroup v1: side by side.
      await Promise.all(
        [...new Set(Object.values(state.cgroup_paths ?? {}))].map((path) =>
          rmdir(path).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          }),
        ),
      );
    } catch {
      return this.delete(id, true);
    }
    await rm(dir, { recursive: true, force: true });
  }

  async kill(id: string, signal: string | number, all = false): Promise<void> {
    await this.call(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.call(['delete', ...(force ? ['--force'] : []), id]);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  async pause(id: string): Promise<void> {
    await this.call(['pause', id]);
  }
  async resume(id: string): Promise<void> {
    await this.call(['resume', id]);
  }
  /** Change resource limits of a live container (runc's own JSON: memory/cpu/blockIO/pids). */
  async update(id: string, resources: object): Promise<void> {
    await this.call(['update', '--resources', '-', id], JSON.stringify(resources));
  }
  /** PIDs of every process in the container, as the host sees them. */
  async ps(id: string): Promise<number[]> {
    return (JSON.parse(await this.call(['ps', '--format', 'json', id])) as number[]) ?? [];
  }

  /** Start a process in a running container; stdio is the caller's. */
  exec(id: string, processJson: string, opts: { detach?: boolean; pidFile?: string } = {}): ChildProcess {
    const args = [...this.cliArgs(), 'exec', '--process', processJson];
    if (opts.pidFile) args.push('--pid-file', opts.pidFile);
    if (opts.detach) args.push('--detach');
    args.push(id);
    return spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  }
}

/**
 * Read the start byte from a created runc container's exec FIFO. False when
 * there is no FIFO (not runc's layout, or started already). The init may
 * open its end a moment after `runc create` has returned, so an empty read
 * means "not yet" for as long as the init lives.
 */
export async function releaseExecFifo(fifo: string, initPid: number, isAlive: (pid: number) => boolean = alive): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const one = Buffer.alloc(1);
    for (let waited = 0; ; waited++) {
      // Alive before the read, not after: the init writes its byte and execs at once, so a
      // short command can have run and exited between an empty read and the check, with its
      // byte waiting in the FIFO. Only an init dead before an empty read never started.
      const wasAlive = isAlive(initPid);
      let n = 0;
      try {
        n = readSync(fd, one, 0, 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n === 1) break;
      if (!wasAlive) throw new SystemError('cannot start a container that has stopped');
      if (waited > 10_000) throw new SystemError('timed out waiting for the container process to start');
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    closeSync(fd);
  }
  await rm(fifo, { force: true });
  return true;
}
