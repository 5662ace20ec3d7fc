/**
 * `docker exec`: extra processes in a running container, started with the
 * runtime's exec. Without a TTY the process's pipes are the caller's streams;
 * with one, socat holds a pseudo-terminal for it (Node cannot receive the
 * pty fd runc would hand over), and resizes go to that terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, SystemError } from '../../core/errors.js';
import { parseDetachKeys } from '../../core/detach-keys.js';
import { readExitCode, resizeStartedTerminal, RuntimeStartError, shimPaths, startShim, type ShimPaths } from '../../runtime/shim.js';
import { specToJson } from '../../runtime/spec/index.js';
import { resolveUser } from '../../runtime/user.js';
import { DEFAULT_PATH, mergeEnv } from './config.js';
import { execProcess } from './oci/spec.js';
import type { ContainerService } from './service.js';
import { EXIT_UNKNOWN, startFailureExitCode } from './start-failure.js';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  DetachKeys?: string;
}

export interface Exec {
  id: string;
  /** TTY sessions run under their own shim; these are its files. */
  shim?: ShimPaths;
  logPath?: string;
  containerId: string;
  /** The container's StartedAt when the exec was made: once that run ends, dockerd forgets its execs. */
  containerStartedAt: string;
  config: ExecConfig;
  /** DetachKeys parsed (empty: the default applies). */
  detachKeys: Buffer;
  running: boolean;
  exitCode: number | null;
  pid: number;
  child?: ChildProcess;
  /**
   * The process's output without a TTY, held from its first byte until the
   * caller reads it (Node drops the output of an exited child nobody listened to).
   */
  stdout?: Readable;
  stderr?: Readable;
  done: Promise<number>;
  settle: (code: number) => void;
}

/**
 * The runtime could not start the process. Its message is dockerd's, and the
 * exec has ended with the exit code a shell would give (start-failure.ts).
 */
export class ExecStartError extends BerthError {
  constructor(
    runtimeMessage: string,
    readonly exitCode: number,
  ) {
    // dockerd answers a command that cannot be run as a bad request, anything else as its own failure.
    super(`OCI runtime exec failed: ${runtimeMessage}: unknown`, exitCode === EXIT_UNKNOWN ? 500 : 400);
  }
}

export class ExecService {
  private execs = new Map<string, Exec>();

  constructor(private readonly containers: ContainerService) {}

  create(ref: string, cfg: ExecConfig): string {
    if (!cfg.Cmd?.length) throw new InvalidArgumentError('No exec command specified');
    const c = this.containers.get(ref);
    if (!c.state.Running) throw new ConflictError(`Container ${c.rec.Id} is not running`);
    if (c.state.Paused) throw new ConflictError(`Container ${c.rec.Id} is paused, unpause the container before exec`);
    if (c.state.Restarting) throw new ConflictError(`Container ${c.rec.Id} is restarting, wait until the container is running`);
    let detachKeys: Buffer = Buffer.alloc(0);
    if (cfg.DetachKeys) {
      try {
        detachKeys = parseDetachKeys(cfg.DetachKeys);
      } catch {
        throw new SystemError(`Invalid escape keys (${cfg.DetachKeys}) provided`);
      }
    }
    const id = randomBytes(32).toString('hex');
    let settle!: (code: number) => void;
    const done = new Promise<number>((r) => {
      settle = r;
    });
    this.execs.set(id, {
      id,
      containerId: c.rec.Id,
      containerStartedAt: c.state.StartedAt,
      config: cfg,
      detachKeys,
      running: false,
      exitCode: null,
      pid: 0,
      done,
      settle,
    });
    this.containers.events.publish('container', `exec_create: ${cfg.Cmd!.join(' ')}`, c.rec.Id, {
      image: c.rec.Config.Image ?? '',
      name: c.rec.Name.slice(1),
      execID: id,
    });
    return id;
  }

  /** An exec, while the run of its container it was made in lasts (dockerd drops a container's execs when it exits). */
  get(id: string): Exec {
    const e = this.execs.get(id);
    const c = e && this.containers.tryGet(e.containerId);
    if (e && (!c || c.state.StartedAt !== e.containerStartedAt || (!c.state.Running && !c.state.Restarting))) this.execs.delete(id);
    else if (e) return e;
    throw new NotFoundError(`No such exec instance: ${id}`);
  }

  /** An exec whose container can run it now (what dockerd checks before it answers a start or resize). */
  usable(id: string): Exec {
    const e = this.get(id);
    const c = this.containers.get(e.containerId);
    if (c.state.Paused) throw new ConflictError(`Container ${c.rec.Id} is paused, unpause the container before exec`);
    if (c.state.Restarting) throw new ConflictError(`Container ${c.rec.Id} is restarting, wait until the container is running`);
    return e;
  }

  /**
   * Start the process; the caller wires its stdio. Resolves once it runs:
   * its output has not been read yet, so none of it is lost. Throws
   * ExecStartError when the runtime could not start it.
   */
  async start(id: string): Promise<Exec> {
    const e = this.usable(id);
    if (e.exitCode !== null) throw new ConflictError(`Error: Exec command ${id} has already run`);
    if (e.running) throw new ConflictError(`Error: Exec command ${id} is already running`);
    e.running = true;
    const c = this.containers.get(e.containerId);
    try {
      const rootfs = await this.containers.snapshotter.mount(c.rec.Id);
      const user = await resolveUser(rootfs, e.config.User || c.rec.Config.User, c.rec.HostConfig.GroupAdd);
      // A bare NAME (unset on the client's host) is no variable: runc would refuse it.
      const env = mergeEnv(c.rec.Config.Env, e.config.Env).filter((v) => v.includes('='));
      if (!env.some((v) => v.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
      if (!env.some((v) => v.startsWith('HOME='))) env.push(`HOME=${user.home}`);
      if (e.config.Tty && !env.some((v) => v.startsWith('TERM='))) env.push('TERM=xterm');
      const proc = execProcess({
        args: e.config.Cmd!,
        env,
        cwd: e.config.WorkingDir || c.rec.Config.WorkingDir || '/',
        user,
        tty: false,
        hostConfig: c.rec.HostConfig,
        privileged: !!e.config.Privileged,
        noNewPrivileges: c.rec.NoNewPrivileges,
      });
      const dir = join(this.containers.opts.execRoot, 'containers', c.rec.Id, 'execs');
      await mkdir(dir, { recursive: true });
      this.containers.events.publish('container', `exec_start: ${e.config.Cmd!.join(' ')}`, c.rec.Id, {
        execID: id,
        image: c.rec.Config.Image ?? '',
        name: c.rec.Name.slice(1),
      });
      if (e.config.Tty) await this.startTty(e, c.rec.Id, c.rec.Name, { ...proc, terminal: true }, join(dir, id));
      else await this.startPiped(e, c.rec.Id, c.rec.Name, c.rec.Config.Image ?? '', proc, dir);
      return e;
    } catch (err) {
      if (e.running && e.exitCode === null) this.end(e, err instanceof ExecStartError ? err.exitCode : EXIT_UNKNOWN, c.rec.Id, c.rec.Name);
      throw err;
    }
  }

  private end(e: Exec, code: number, containerId: string, name: string, image = ''): void {
    if (!e.running) return;
    e.running = false;
    e.exitCode = code;
    this.containers.events.publish('container', 'exec_die', containerId, { execID: e.id, exitCode: String(code), image, name: name.slice(1) });
    e.settle(code);
  }

  /**
   * Without a TTY, `runc exec` is the process's parent and its pipes are the
   * process's stdio. runc writes the pid file once the process runs; when it
   * cannot start it, it exits with its reason in the JSON log instead — and a
   * copy on stderr, which is runc's, not the process's, and is dropped.
   */
  private async startPiped(e: Exec, containerId: string, name: string, image: string, proc: object, dir: string): Promise<void> {
    const specPath = join(dir, `${e.id}.json`);
    const pidFile = join(dir, `${e.id}.pid`);
    const logFile = join(dir, `${e.id}.log`);
    await writeFile(specPath, specToJson(proc as never));
    const runc = this.containers.runc.of(containerId);
    let onPid = () => {};
    const watcher = watchDir(dir, (f) => {
      if (f === `${e.id}.pid`) onPid();
    });
    const child = spawn(
      runc.binary,
      [...runc.cliArgs(), '--log', logFile, '--log-format', 'json', 'exec', '--pid-file', pidFile, '--process', specPath, containerId],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    e.child = child;
    e.stdout = child.stdout!.pipe(new PassThrough());
    e.stderr = child.stderr!.pipe(new PassThrough());
    child.stdin!.on('error', () => {});
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(EXIT_UNKNOWN));
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 1) : 1)));
    });
    try {
      const first = await Promise.race([
        new Promise<'started'>((resolve) => {
          onPid = () => resolve('started');
          if (existsSync(pidFile)) resolve('started');
        }),
        exited.then(() => 'exited' as const),
      ]);
      const failure = first === 'exited' && !existsSync(pidFile) ? await runtimeError(logFile) : undefined;
      if (failure !== undefined) {
        e.stdout.resume();
        e.stderr.resume();
        throw new ExecStartError(failure, startFailureExitCode(failure));
      }
    } finally {
      watcher?.close();
    }
    e.pid = Number(await readFile(pidFile, 'utf8').catch(() => '')) || child.pid || 0;
    void exited.then((code) => this.end(e, code, containerId, name, image));
  }

  /**
   * A TTY session: conmon runs `runc exec -t`, holds the terminal, logs its
   * output and records the exit code, exactly as for a container's own TTY.
   */
  private async startTty(e: Exec, containerId: string, name: string, proc: object, dir: string): Promise<void> {
    const sp = shimPaths(dir);
    await mkdir(sp.bundle, { recursive: true });
    const spec = join(dir, 'process.json');
    await writeFile(spec, specToJson(proc as never));
    e.shim = sp;
    e.logPath = join(dir, 'output.log');
    const runc = this.containers.runc.of(containerId);
    try {
      e.pid = await startShim({
        id: containerId,
        name,
        paths: sp,
        runtime: runc.binary,
        runtimeArgs: runc.globalArgs,
        runtimeRoot: runc.root,
        logPath: e.logPath,
        tty: true,
        stdin: !!e.config.AttachStdin,
        leaveStdinOpen: true,
        execSpec: spec,
      });
    } catch (err) {
      if (err instanceof RuntimeStartError) throw new ExecStartError(err.runtimeMessage, startFailureExitCode(err.runtimeMessage));
      throw err;
    }
    // conmon writes the exit file when the session ends.
    const poll = setInterval(() => {
      void readExitCode(sp, containerId).then((code) => {
        if (code === null || !e.running) return;
        clearInterval(poll);
        this.end(e, code, containerId, name);
      });
    }, 50);
  }

  /** The client typed the detach keys: the session's streams end, the process runs on. */
  detached(e: Exec): void {
    const c = this.containers.tryGet(e.containerId);
    if (c) this.containers.events.publish('container', 'exec_detach', c.rec.Id, { execID: e.id, image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1) });
  }

  /** Set a TTY session's terminal size through its shim; a session that has just ended has nothing to resize. */
  async resize(id: string, rows: number, cols: number): Promise<void> {
    const e = this.usable(id);
    // Once the process has gone the runtime no longer knows it, as containerd forgets it under dockerd.
    if (e.exitCode !== null) throw new NotFoundError('no such exec');
    if (!e.config.Tty || !e.running || !e.shim) return;
    if (!(await resizeStartedTerminal(e.shim, rows, cols, () => e.running))) throw new SystemError('cannot resize a stopped container: unknown');
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: !!e.config.Tty,
        entrypoint: e.config.Cmd?.[0] ?? '',
        arguments: e.config.Cmd?.slice(1) ?? [],
        privileged: !!e.config.Privileged,
        ...(e.config.User ? { user: e.config.User } : {}),
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdout: !!e.config.AttachStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.detachKeys.toString('base64'),
      Pid: e.pid,
    };
  }

  /** Exec IDs of a container (inspect's ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()]
      .filter((e) => e.containerId === containerId)
      .flatMap((e) => {
        try {
          return [this.get(e.id).id];
        } catch {
          return [];
        }
      });
  }
}

/** runc's own error, from its JSON log (--log-format json), or undefined when it logged none. */
async function runtimeError(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const j = JSON.parse(line) as { level?: string; msg?: string };
      if (j.level === 'error' && j.msg) msg = j.msg;
    } catch {
      /* not a log line */
    }
  }
  return msg;
}

function watchDir(dir: string, onName: (name: string) => void): FSWatcher | undefined {
  try {
    const w = watch(dir, (_ev, f) => {
      if (f) onName(String(f));
    });
    w.on('error', () => {});
    return w;
  } catch {
    return undefined;
  }
}
