/**
 * A container's live streams: output (from the shim's log, which holds
 * everything the container wrote), stdin (into the shim's attach socket),
 * TTY resize (the shim's control fifo), and stats samples (from cgroups).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictError } from '../../core/errors.js';
import { EscapeScanner } from '../../core/detach-keys.js';
import { readCgroupStats, readNetDev, readProcStat, type CgroupStats } from '../../runtime/cgroups.js';
import { resizeTerminal, shimPaths } from '../../runtime/shim.js';
import { readLogs } from './logs.js';
import type { LogRecord } from '../../runtime/k8s-file.js';
import type { Container } from './record.js';
import type { ContainerService } from './service.js';
import { stoppedDockerStats, toDockerStats, type DockerStats } from './stats.js';

export interface OutputOptions {
  /** Replay what was already logged first. */
  logs?: boolean;
  /** Follow new output until the container stops. */
  stream?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
  /** Called once the place output is read from is fixed (see ReadLogOptions.positioned). */
  positioned?: () => void;
}

/** Output for attach: past lines if asked, then everything new until the container's next exit. */
export function attachOutput(svc: ContainerService, c: Container, o: OutputOptions): AsyncGenerator<LogRecord> {
  const stopped = c.state.Running ? svc.waitFor(c.rec.Id, 'next-exit').then(() => {}) : svc.waitFor(c.rec.Id, 'next-exit').then(() => {});
  return readLogs(svc.logPath(c), {
    follow: !!o.stream,
    tail: o.logs ? -1 : 0,
    stdout: o.stdout !== false,
    stderr: o.stderr !== false,
    signal: o.signal,
    stopped,
    partial: true,
    positioned: o.positioned,
  });
}

export interface StdinOptions {
  /** The detach sequence (parseDetachKeys); typed into stdin it ends the session instead of reaching the container. */
  detachKeys?: Buffer;
  onDetach?: () => void;
}

/** Feed `input` to the container's stdin through the shim's attach socket (a SOCK_SEQPACKET socket, hence socat). */
export async function attachStdin(svc: ContainerService, c: Container, input: Readable, o: StdinOptions = {}): Promise<void> {
  if (!c.rec.Config.OpenStdin) { input.resume(); return; }
  const sock = join(shimPaths(join(svc.opts.execRoot, 'containers', c.rec.Id)).bundle, 'attach');
  // Attached before start (docker run): the shim makes its socket when the container starts.
  const startedAt = c.state.StartedAt;
  for (;;) {
    if (c.state.Running && existsSync(sock)) break;
    if ((!c.state.Running && c.state.StartedAt !== startedAt) || input.destroyed || !svc.tryGet(c.rec.Id)) { input.resume(); return; }
    await new Promise((r) => setTimeout(r, 10));
  }
  pipeToShim(sock, input, o);
}

/**
 * Copy `input` into a shim's attach socket (SOCK_SEQPACKET, which Node cannot open: socat can).
 * socat runs in the socket's directory and connects by relative name: the full path can
 * exceed the 108 bytes a unix socket address holds.
 */
export function pipeToShim(sock: string, input: Readable, o: StdinOptions = {}): void {
  // The shim binds its socket a moment before it listens: socat retries the connect (for up to 2 s,
  // the input waiting in its pipe) rather than fail and leave the container's stdin never closed.
  // Both directions, the output thrown away: conmon copies the container's output to every attach
  // client, and conmon 2.1.x forgets to close the container's stdin at a client's EOF if a copy to
  // that client failed first (it frees the client and then reads it). So socat keeps the socket
  // open and read after sending EOF — until conmon closes it (the container exits) or for a minute.
  const child = spawn('socat', ['-t', '60', 'STDIO', `UNIX-CONNECT:${basename(sock)},type=5,retry=100,interval=0.02`], { cwd: dirname(sock), stdio: ['pipe', 'ignore', 'ignore'] });
  const dst = child.stdin;
  dst.on('error', () => {});
  child.on('error', () => input.resume());
  const scan = o.detachKeys?.length ? new EscapeScanner(o.detachKeys) : null;
  const onData = (b: Buffer) => {
    const out = scan ? scan.push(b) : b;
    if (out.length && !dst.write(out)) { input.pause(); dst.once('drain', () => input.resume()); }
    if (scan?.detached) {
      input.off('data', onData);
      dst.end();
      o.onDetach?.();
    }
  };
  input.on('data', onData);
  input.on('end', () => dst.end());
  input.on('close', () => dst.end());
  input.resume();
}

/** Resize the container's TTY through its shim; a container that has just exited is refused as dockerd refuses it. */
export async function resizeTty(svc: ContainerService, c: Container, rows: number, cols: number): Promise<void> {
  const notRunning = () => new ConflictError(`Container ${c.rec.Id} is not running`);
  if (!c.state.Running) throw notRunning();
  if (!c.rec.Config.Tty) return;
  if (!(await resizeTerminal(shimPaths(join(svc.opts.execRoot, 'containers', c.rec.Id)), rows, cols))) throw notRunning();
}

export interface StatsSampler { sample(): Promise<DockerStats> }

/** Successive stats samples; each carries the previous one's CPU figures as Docker's "precpu". */
export function statsSampler(c: Container): StatsSampler {
  let prev: { cpu: CgroupStats['cpu']; time: Date; system: number } | null = null;
  return {
    async sample() {
      if (!c.state.Running) return stoppedDockerStats(c.rec.Id, c.rec.Name);
      const [cur, proc, net] = await Promise.all([
        readCgroupStats(`/berth/${c.rec.Id}`),
        readProcStat(),
        readNetDev(c.state.Pid).catch(() => ({})),
      ]);
      const now = new Date();
      const out = toDockerStats(cur, prev ? { cpu: prev.cpu } : null, {
        id: c.rec.Id, name: c.rec.Name, net, readTime: now, preReadTime: prev?.time,
        onlineCpus: proc.onlineCpus, memTotal: totalmem(), systemCpuNs: proc.systemCpuNs, preSystemCpuNs: prev?.system,
      });
      prev = { cpu: cur.cpu, time: now, system: proc.systemCpuNs };
      return out;
    },
  };
}
