/**
 * A container's live streams: output (from the shim's log, which holds
 * everything the container wrote), stdin (into the shim's attach socket),
 * TTY resize (the shim's control fifo), and stats samples (from cgroups);
 * and ContainerStreams, the API's logs, attach and stats built from them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictError, InvalidArgumentError } from '../../core/errors.js';
import { DEFAULT_DETACH_KEYS, EscapeScanner, parseDetachKeys } from '../../core/detach-keys.js';
import { parseTimestampOrDuration } from '../../core/go-time.js';
import { readCgroupStats, type CgroupStats } from '../../runtime/cgroups.js';
import { readNetDev, readProcStat } from '../../runtime/proc-stats.js';
import { resizeTerminal, shimPaths } from '../../runtime/shim.js';
import type { LogRecord } from '../../runtime/k8s-file.js';
import type { Exec } from './exec.js';
import { assertReadable } from './logdrivers.js';
import { logDetails } from './logfiles.js';
import { readLogs } from './logs.js';
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
  if (!c.rec.Config.OpenStdin) {
    input.resume();
    return;
  }
  const sock = join(shimPaths(join(svc.opts.execRoot, 'containers', c.rec.Id)).bundle, 'attach');
  // Attached before start (docker run): the shim makes its socket when the container starts.
  const startedAt = c.state.StartedAt;
  for (;;) {
    if (c.state.Running && existsSync(sock)) break;
    if ((!c.state.Running && c.state.StartedAt !== startedAt) || input.destroyed || !svc.tryGet(c.rec.Id)) {
      input.resume();
      return;
    }
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
  const child = spawn('socat', ['-t', '60', 'STDIO', `UNIX-CONNECT:${basename(sock)},type=5,retry=100,interval=0.02`], {
    cwd: dirname(sock),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const dst = child.stdin;
  dst.on('error', () => {});
  child.on('error', () => input.resume());
  const scan = o.detachKeys?.length ? new EscapeScanner(o.detachKeys) : null;
  const onData = (b: Buffer) => {
    const out = scan ? scan.push(b) : b;
    if (out.length && !dst.write(out)) {
      input.pause();
      dst.once('drain', () => input.resume());
    }
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

export interface StatsSampler {
  sample(): Promise<DockerStats>;
}

/** Successive stats samples; each carries the previous one's CPU figures as Docker's "precpu". */
export function statsSampler(c: Container): StatsSampler {
  let prev: { cpu: CgroupStats['cpu']; time: Date; system: number } | null = null;
  return {
    async sample() {
      if (!c.state.Running) return stoppedDockerStats(c.rec.Id, c.rec.Name);
      const [cur, proc, net] = await Promise.all([readCgroupStats(`/berth/${c.rec.Id}`), readProcStat(), readNetDev(c.state.Pid).catch(() => ({}))]);
      const now = new Date();
      const out = toDockerStats(cur, prev ? { cpu: prev.cpu } : null, {
        id: c.rec.Id,
        name: c.rec.Name,
        net,
        readTime: now,
        preReadTime: prev?.time,
        onlineCpus: proc.onlineCpus,
        memTotal: totalmem(),
        systemCpuNs: proc.systemCpuNs,
        preSystemCpuNs: prev?.system,
      });
      prev = { cpu: cur.cpu, time: now, system: proc.systemCpuNs };
      return out;
    },
  };
}

/** GET /containers/{id}/logs as the client asked. */
export interface LogsRequest {
  stdout: boolean;
  stderr: boolean;
  /** Lines from the end; what is not a number is "all", as dockerd reads it. */
  tail?: string;
  follow: boolean;
  since?: string;
  until?: string;
  timestamps: boolean;
  details: boolean;
  signal: AbortSignal;
}

/** What the client may send through an attach: `input` is fed to stdin when `stdin` is asked, else drained. */
export interface AttachInput {
  input: Readable;
  stdin: boolean;
  detachKeys: Buffer;
  onDetach: () => void;
}

/** One attach to a container, checked and ready; output and input start when asked (after the connection is taken over). */
export interface AttachSession {
  tty: boolean;
  /** Output as asked; stdin flows once output is read from a fixed place, so the answer to it is never missed. */
  output(o: Omit<OutputOptions, 'positioned'>, feed: AttachInput): AsyncGenerator<LogRecord>;
  /** Stdin alone, no output. */
  input(feed: AttachInput): void;
}

/** A log time bound: empty or 0 is none; a bad one is the client's error. */
function timeBound(v: string | undefined): bigint | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  try {
    return parseTimestampOrDuration(v, new Date());
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/**
 * The API's streams of a container: its logs, attach sessions, stats and
 * TTY resize, and an exec's TTY session, with dockerd's rules for each; the
 * API only frames what they yield.
 */
export class ContainerStreams {
  constructor(private readonly svc: ContainerService) {}

  /**
   * A container's logs: the container, its log driver and the choice of a
   * stream are checked at once; the time bounds when the lines are first read
   * (after the answer has started, as before).
   */
  logs(ref: string, o: LogsRequest): { tty: boolean; lines: AsyncGenerator<{ stream: 'stdout' | 'stderr'; line: Buffer }> } {
    const svc = this.svc;
    const c = svc.get(ref);
    assertReadable(c.rec.HostConfig.LogConfig?.Type);
    if (!o.stdout && !o.stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
    const tailRaw = o.tail ?? 'all';
    // dockerd reads what is not a number as "all".
    const tail = /^[+-]?\d+$/.test(tailRaw) ? Number(tailRaw) : -1;
    const detailsPrefix = Buffer.from(logDetails(c.rec.HostConfig.LogConfig, c.rec.Config.Labels ?? {}, c.rec.Config.Env ?? []) + ' ');
    const stopped = c.state.Running ? svc.waitFor(c.rec.Id, 'next-exit').then(() => {}) : Promise.resolve();
    async function* lines() {
      for await (const r of readLogs(svc.logPath(c), {
        follow: o.follow,
        tail,
        sinceNs: timeBound(o.since),
        untilNs: timeBound(o.until),
        stdout: o.stdout,
        stderr: o.stderr,
        signal: o.signal,
        stopped,
      })) {
        let line = r.line;
        if (o.details) line = Buffer.concat([detailsPrefix, line]);
        if (o.timestamps) line = Buffer.concat([Buffer.from(r.time + ' '), line]);
        yield { stream: r.stream, line };
      }
    }
    return { tty: !!c.rec.Config.Tty, lines: lines() };
  }

  /** An attach to a container: refused while it is paused or restarting, as dockerd refuses it. */
  attach(ref: string): AttachSession {
    const svc = this.svc;
    const c = svc.get(ref);
    if (c.state.Paused) throw new ConflictError(`container ${ref} is paused, unpause the container before attach`);
    if (c.state.Restarting) throw new ConflictError(`container ${ref} is restarting, wait until the container is running`);
    const feedStdin = (f: AttachInput) => {
      if (f.stdin) void attachStdin(svc, c, f.input, { detachKeys: f.detachKeys, onDetach: f.onDetach });
      else f.input.resume();
    };
    return {
      tty: !!c.rec.Config.Tty,
      output(o, feed) {
        svc.attached(c);
        return attachOutput(svc, c, { ...o, positioned: () => feedStdin(feed) });
      },
      input(feed) {
        svc.attached(c);
        feedStdin(feed);
      },
    };
  }

  /** One stats sample; unless one-shot, a running container is sampled twice a second apart so CPU % has a base, as Docker does. */
  async statsOnce(ref: string, oneShot: boolean): Promise<DockerStats> {
    const c = this.svc.get(ref);
    const sampler = statsSampler(c);
    if (!oneShot && c.state.Running) {
      await sampler.sample();
      await new Promise((r) => setTimeout(r, 1000));
    }
    return sampler.sample();
  }

  /** A sample a second until `signal` aborts (the container is looked up at once). */
  statsStream(ref: string, signal: AbortSignal): AsyncGenerator<DockerStats> {
    const sampler = statsSampler(this.svc.get(ref));
    return (async function* () {
      while (!signal.aborted) {
        yield await sampler.sample();
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }

  /** Resize a container's TTY. */
  async resize(ref: string, rows: number, cols: number): Promise<void> {
    await resizeTty(this.svc, this.svc.get(ref), rows, cols);
  }

  /**
   * An exec's TTY session under its shim: output from the shim's log, `input`
   * into its attach socket when the exec takes stdin. The detach keys (the
   * exec's, or ctrl-p,ctrl-q) call `onDetach`; the process runs on.
   */
  execTty(e: Exec, input: Readable, o: { signal: AbortSignal; onDetach: () => void }): AsyncGenerator<LogRecord> {
    const detachKeys = e.detachKeys.length ? e.detachKeys : parseDetachKeys(DEFAULT_DETACH_KEYS);
    if (e.config.AttachStdin) pipeToShim(join(e.shim!.bundle, 'attach'), input, { detachKeys, onDetach: o.onDetach });
    else input.resume();
    return readLogs(e.logPath!, { follow: true, partial: true, signal: o.signal, stopped: e.done.then(() => {}) });
  }
}
