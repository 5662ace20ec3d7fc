/**
 * The per-container shim: Debian's conmon. It runs `runc create`, holds the
 * container's stdio, writes its output to a log, records the exit code to a
 * file, and — started in its own session — lives on when berthd dies, so a
 * restarted daemon finds its containers running and their exits recorded.
 *
 * Files a shim leaves (all under the container's exec dir):
 *   conmon.pid      the shim's pid
 *   init.pid        the container's init pid (as the host sees it)
 *   exit/<id>       the exit code, once the container has exited
 *   persist/oom     present when the kernel OOM-killed the container
 *   bundle/attach   conmon's attach socket (SOCK_SEQPACKET), bundle/ctl its control fifo
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '../core/errors.js';
import { writeFifo } from '../core/nonblocking.js';

export interface ShimPaths {
  /** Per-container runtime dir (under --exec-root). */
  dir: string;
  bundle: string;
  exitDir: string;
  persistDir: string;
  socketDir: string;
  pidFile: string;
  conmonPidFile: string;
  syncFile: string;
}

export function shimPaths(dir: string): ShimPaths {
  return {
    dir,
    bundle: join(dir, 'bundle'),
    exitDir: join(dir, 'exit'),
    persistDir: join(dir, 'persist'),
    socketDir: join(dir, 'sockets'),
    pidFile: join(dir, 'init.pid'),
    conmonPidFile: join(dir, 'conmon.pid'),
    syncFile: join(dir, 'sync.json'),
  };
}

export interface ShimOptions {
  id: string;
  name: string;
  paths: ShimPaths;
  runtime: string;
  /** The runtime's global arguments (daemon.json runtimeArgs), before its state root. */
  runtimeArgs?: readonly string[];
  runtimeRoot: string;
  logPath: string;
  logSizeMax?: number;
  tty: boolean;
  stdin: boolean;
  /** An exec session: the process spec to run in the (running) container `id`, instead of creating it. */
  execSpec?: string;
  /** Keep stdin open when an attached client goes away (not StdinOnce). */
  leaveStdinOpen?: boolean;
  conmon?: string;
}

/**
 * Start conmon and wait for `runc create` to finish. Resolves with the
 * container's init pid; the container is in the runtime's "created" state.
 */
export async function startShim(o: ShimOptions): Promise<number> {
  const p = o.paths;
  for (const d of [p.exitDir, p.persistDir, p.socketDir]) await mkdir(d, { recursive: true });
  await rm(join(p.exitDir, o.id), { force: true });
  await rm(join(p.persistDir, 'oom'), { force: true });
  await rm(join(p.persistDir, 'exit'), { force: true });
  const args = [
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    o.execSpec ? `exec-${Date.now()}` : o.id,
    '-n',
    o.name.replace(/^\//, ''),
    '-r',
    o.runtime,
    ...(o.runtimeArgs ?? []).map((a) => `--runtime-arg=${a}`),
    '--runtime-arg',
    `--root=${o.runtimeRoot}`,
    '-b',
    p.bundle,
    '-p',
    p.pidFile,
    '--conmon-pidfile',
    p.conmonPidFile,
    '--exit-dir',
    p.exitDir,
    '--persist-dir',
    p.persistDir,
    '--socket-dir-path',
    p.socketDir,
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-level',
    'warn',
    '--no-sync-log',
  ];
  if (o.execSpec) args.push('--exec', '--exec-process-spec', o.execSpec);
  if (o.logSizeMax && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
  // conmon reports runc's result as JSON on its "sync pipe". A regular file
  // instead of a pipe: conmon writes to it again later, and must never meet a
  // closed pipe once berthd is gone.
  const syncFd = openSync(p.syncFile, 'w+');
  const errFd = openSync(join(p.dir, 'conmon.err'), 'w');
  let code: number | null;
  try {
    const child = spawn(o.conmon ?? 'conmon', args, {
      detached: true, // its own session: a signal to berthd's process group never reaches it
      cwd: p.dir, // conmon drops files (an `oom` marker) in its working directory; keep them with the container
      stdio: ['ignore', 'ignore', errFd, syncFd],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
    });
    code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (e) => reject(new SystemError(`cannot start conmon: ${e.message}`)));
      child.once('exit', (c) => resolve(c));
    });
  } finally {
    closeSync(syncFd);
    closeSync(errFd);
  }
  // conmon's first process exits once it has forked the monitor; the monitor
  // writes runc create's outcome, {"data": pid} or {"data": -1, "message": …}.
  // Woken by inotify as soon as it is written; the timer covers a missed event.
  let first: RegExpExecArray | null = null;
  let wake = () => {};
  const watcher = watchFile(p.syncFile, () => wake());
  try {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      first = /\{[^}]*\}/.exec(await readFile(p.syncFile, 'utf8'));
      if (first) break;
      const monitor = await shimPid(p);
      if (code !== 0 || (monitor && !alive(monitor) && !/\{[^}]*\}/.test(await readFile(p.syncFile, 'utf8')))) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 5);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  } finally {
    watcher?.close();
  }
  if (!first) {
    const err = readFileSync(join(p.dir, 'conmon.err'), 'utf8').trim();
    throw new SystemError(`conmon exited with ${code} before creating the container${err ? `: ${err}` : ''}`);
  }
  const msg = JSON.parse(first[0]) as { data: number; message?: string };
  if (msg.data <= 0) throw new RuntimeStartError(msg.message ?? 'container create failed');
  return msg.data;
}

function watchFile(path: string, onChange: () => void): FSWatcher | undefined {
  try {
    const w = watch(path, onChange);
    w.on('error', () => {});
    return w;
  } catch {
    return undefined;
  }
}

/** The runtime refused to start the process; `runtimeMessage` is its own words (an exec reports them differently). */
export class RuntimeStartError extends SystemError {
  readonly runtimeMessage: string;
  constructor(raw: string) {
    super(cleanRuntimeError(raw));
    this.runtimeMessage = lastRuntimeLine(raw);
  }
}

function lastRuntimeLine(raw: string): string {
  const lines = raw
    .trim()
    .split('\n')
    .map((l) => /msg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1]?.replace(/\\"/g, '"') ?? l);
  return lines.filter(Boolean).pop() ?? raw;
}

/** runc's error lines wrapped in logrus format → the message a user needs. */
export function cleanRuntimeError(raw: string): string {
  return `OCI runtime create failed: ${lastRuntimeLine(raw)}`;
}

/** The exit code conmon recorded, or null while the container (or exec session) has not exited. */
export async function readExitCode(p: ShimPaths, id: string): Promise<number | null> {
  try {
    const t = (await readFile(join(p.exitDir, id), 'utf8')).trim();
    if (t === '') return null;
    return Number(t);
  } catch {
    return null;
  }
}

/**
 * What the shim saw of a process that died before it was started (it should wait on the
 * runtime's start signal): its recorded exit and conmon's own complaints, for an error message.
 */
export async function shimReport(p: ShimPaths, id: string): Promise<string> {
  const code = await readExitCode(p, id);
  const err = (await readFile(join(p.dir, 'conmon.err'), 'utf8').catch(() => '')).trim().split('\n').pop() ?? '';
  const oom = await wasOomKilled(p);
  return [code === null ? 'no exit recorded' : `exit ${code}`, oom ? 'OOM-killed' : '', err ? `conmon: ${err}` : ''].filter(Boolean).join('; ');
}

export async function wasOomKilled(p: ShimPaths): Promise<boolean> {
  try {
    await readFile(join(p.persistDir, 'oom'));
    return true;
  } catch {
    return false;
  }
}

/** Whether a process is alive (signal 0). */
export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function shimPid(p: ShimPaths): Promise<number> {
  try {
    return Number((await readFile(p.conmonPidFile, 'utf8')).trim()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Set the terminal size of the shim's process: conmon reads "1 <rows> <cols>"
 * on its control fifo. False when the shim is gone (its process has exited):
 * the fifo then has no reader, and the write is refused at once, never waited on.
 */
export function resizeTerminal(p: ShimPaths, rows: number, cols: number): Promise<boolean> {
  return writeFifo(join(p.bundle, 'ctl'), `1 ${rows} ${cols}\n`);
}

/**
 * Resize a session that has just started: conmon opens its control fifo a
 * moment after it reports the process running, and a client resizes at once
 * (the docker CLI does, right after start). While `running` says the process
 * lives, a fifo without its reader yet is tried again shortly, for at most
 * about a second; false when the process has gone.
 */
export async function resizeStartedTerminal(p: ShimPaths, rows: number, cols: number, running: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await resizeTerminal(p, rows, cols)) return true;
    if (!running()) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}
