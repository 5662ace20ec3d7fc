/**
 * `docker exec`: extra processes in a running container, started with the
 * runtime's exec. Without a TTY the process's pipes are the caller's streams;
 * with one, socat holds a pseudo-terminal for it (Node cannot receive the
 * pty fd runc would hand over), and resizes go to that terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import { readExitCode, resizeTerminal, shimPaths, startShim, type ShimPaths } from '../../runtime/shim.js';
import { buildExecProcess, specToJson } from '../../runtime/spec.js';
import { resolveUser } from '../../runtime/user.js';
import { DEFAULT_PATH, mergeEnv } from './config.js';
import type { ContainerService } from './service.js';

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
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  child?: ChildProcess;
  done: Promise<number>;
  settle: (code: number) => void;
}

export class ExecService {
  private execs = new Map<string, Exec>();

  constructor(private readonly containers: ContainerService) {}

  create(ref: string, cfg: ExecConfig): string {
    const c = this.containers.get(ref);
    if (!c.state.Running) throw new ConflictError(`container ${c.rec.Id} is not running`);
    if (c.state.Paused) throw new ConflictError(`container ${c.rec.Id} is paused, unpause the container before exec`);
    if (!cfg.Cmd?.length) throw new InvalidArgumentError('No exec command specified');
    const id = randomBytes(32).toString('hex');
    let settle!: (code: number) => void;
    const done = new Promise<number>((r) => { settle = r; });
    this.execs.set(id, { id, containerId: c.rec.Id, config: cfg, running: false, exitCode: null, pid: 0, done, settle });
    this.containers.events.publish('container', `exec_create: ${cfg.Cmd.join(' ')}`, c.rec.Id, { image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1), execID: id });
    return id;
  }

  get(id: string): Exec {
    const e = this.execs.get(id);
    if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
    return e;
  }

  /** Start the process; the caller wires its stdio. Resolves once it runs. */
  async start(id: string): Promise<Exec> {
    const e = this.get(id);
    if (e.running || e.exitCode !== null) throw new ConflictError(`Error: Exec command ${id} is already running`);
    const c = this.containers.get(e.containerId);
    if (!c.state.Running) throw new ConflictError(`container ${c.rec.Id} is not running`);
    const rootfs = await this.containers.snapshotter.mount(c.rec.Id);
    const user = await resolveUser(rootfs, e.config.User || c.rec.Config.User, c.rec.HostConfig.GroupAdd);
    // A bare NAME (unset on the client's host) is no variable: runc would refuse it.
    const env = mergeEnv(c.rec.Config.Env, e.config.Env).filter((v) => v.includes('='));
    if (!env.some((v) => v.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
    if (!env.some((v) => v.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    if (e.config.Tty && !env.some((v) => v.startsWith('TERM='))) env.push('TERM=xterm');
    const proc = buildExecProcess({
      args: e.config.Cmd!, env, cwd: e.config.WorkingDir || c.rec.Config.WorkingDir || '/', user, tty: false,
      hostConfig: c.rec.HostConfig, privileged: !!e.config.Privileged,
    });
    const dir = join(this.containers.opts.execRoot, 'containers', c.rec.Id, 'execs');
    await mkdir(dir, { recursive: true });
    const specPath = join(dir, `${id}.json`);
    await writeFile(specPath, specToJson(proc));
    if (e.config.Tty) return this.startTty(e, c.rec.Id, c.rec.Name, { ...proc, terminal: true }, join(dir, id));
    const runc = this.containers.runc;
    const child = spawn(runc.binary, ['--root', runc.root, 'exec', '--process', specPath, c.rec.Id], { stdio: ['pipe', 'pipe', 'pipe'] });
    e.child = child;
    e.running = true;
    e.pid = child.pid ?? 0;
    child.stdin!.on('error', () => {});
    child.on('error', () => { e.running = false; e.exitCode = 126; e.settle(126); });
    child.on('exit', (code, signal) => {
      e.running = false;
      e.exitCode = code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1) : 1);
      this.containers.events.publish('container', 'exec_die', c.rec.Id, { execID: id, exitCode: String(e.exitCode), image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1) });
      e.settle(e.exitCode);
    });
    this.containers.events.publish('container', `exec_start: ${e.config.Cmd!.join(' ')}`, c.rec.Id, { execID: id, image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1) });
    return e;
  }

  /**
   * A TTY session: conmon runs `runc exec -t`, holds the terminal, logs its
   * output and records the exit code, exactly as for a container's own TTY.
   */
  private async startTty(e: Exec, containerId: string, name: string, proc: object, dir: string): Promise<Exec> {
    const sp = shimPaths(dir);
    await mkdir(sp.bundle, { recursive: true });
    const spec = join(dir, 'process.json');
    await writeFile(spec, specToJson(proc as never));
    e.shim = sp;
    e.logPath = join(dir, 'output.log');
    const runc = this.containers.runc;
    e.pid = await startShim({
      id: containerId, name, paths: sp, runtime: runc.binary, runtimeRoot: runc.root, logPath: e.logPath,
      tty: true, stdin: !!e.config.AttachStdin, leaveStdinOpen: true, execSpec: spec,
    });
    e.running = true;
    // The exit file appears when the session ends.
    const poll = setInterval(() => {
      void readExitCode(sp, containerId).then((code) => {
        if (code === null || !e.running) return;
        clearInterval(poll);
        e.running = false;
        e.exitCode = code;
        this.containers.events.publish('container', 'exec_die', containerId, { execID: e.id, exitCode: String(code), name: name.slice(1) });
        e.settle(code);
      });
    }, 50);
    return e;
  }

  /** Set a TTY session's terminal size through its shim; a session that has just ended has nothing to resize. */
  async resize(id: string, rows: number, cols: number): Promise<void> {
    const e = this.get(id);
    if (!e.config.Tty || !e.running || !e.shim) return;
    await resizeTerminal(e.shim, rows, cols);
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: {
        tty: !!e.config.Tty, entrypoint: e.config.Cmd?.[0] ?? '', arguments: e.config.Cmd?.slice(1) ?? [],
        privileged: !!e.config.Privileged, user: e.config.User ?? '',
      },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdout: !!e.config.AttachStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      Pid: e.pid,
    };
  }

  /** Exec IDs of a container (inspect's ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
  }
}
